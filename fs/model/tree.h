/* tree.h: server mailbox names <-> UTF-8 path components of the mount.
 *
 * A server names a mailbox in modified UTF-7 with a hierarchy delimiter
 * (often '.' or '/'; 0 when the server says NIL: a flat namespace).  The
 * mount shows each level as one directory whose name is the decoded UTF-8
 * text of that level, escaped so that nothing a server sends can leave the
 * mount, break a path or pass for a message file:
 *
 *   '%'                            -> "%25"
 *   '/' (only when delim != '/')   -> "%2F"
 *   bytes 0x01-0x1f and 0x7f       -> "%XX" (upper-case hex)
 *   a whole component "." / ".."   -> "%2E" / "%2E%2E"
 *   a component that tree_is_message_name() accepts ("12.eml")
 *                                  -> its first digit escaped ("%312.eml")
 *
 * Only that canonical form is accepted back: tree_mailbox_from_path()
 * decodes a component, re-encodes it and refuses it unless the result is
 * the very same bytes.  So "100%" (a bare '%'), "%41" (an escape the
 * encoder never writes), "%2e" (lower case) and "a%01b" spelled with a raw
 * control character are all refused; every accepted path maps to one
 * mailbox and back to the same path, and readdir always shows exactly the
 * name a mkdir used.
 *
 * Two server names can still map to one path (a server reporting different
 * delimiters for different names: "a.b" with '.' and "a/b" with '/').  The
 * mailbox tree keeps the path for one of them and shows each other one
 * under an alias (tree_alias_path): its last component followed by "%~"
 * and eight hex digits.  No canonical path contains "%~" ('%' itself is
 * always escaped), so an alias never hides a mailbox, and
 * tree_mailbox_from_path() refuses it: a user cannot create one.
 *
 * INBOX is kept exactly as the server spells it (no case folding).
 * A component longer than TREE_NAME_MAX bytes once escaped cannot be a
 * directory entry: such names are refused both ways.
 *
 * Conventions: the output buffer is replaced (reset first) on success and
 * left empty on failure; a failure returns -1 and appends a one-line reason
 * to err (err may be NULL).  No state, no allocation beyond the buffers:
 * every function is safe to call from several threads at once.
 */
#ifndef IMAPFS_TREE_H
#define IMAPFS_TREE_H

#include <stdbool.h>
#include <stdint.h>

struct buf;

#define TREE_NAME_MAX 255   /* bytes in one path component (NAME_MAX) */

/* Both directions take utf8: the server's names are UTF-8 (UTF8=ACCEPT
 * enabled, RFC 6855) rather than modified UTF-7; they must then be
 * well-formed UTF-8 without NUL, and stand for themselves.
 *
 * Split a server mailbox name into UTF-8 path components joined by '/'
 * ("Reisen.Z&APw-rich" with delim '.' -> "Reisen/Zürich").  -1 when the
 * name must be skipped: invalid modified UTF-7, an empty component (also a
 * leading or trailing delimiter), a component too long, an unusable
 * delimiter ('&', or outside 0x20-0x7e). */
int tree_path_from_mailbox(const char *mailbox, char delim, bool utf8, struct buf *path, struct buf *err);

/* The inverse: a path relative to the mount root, components separated by
 * single '/' with no leading or trailing '/' ("Reisen/Zürich") ->
 * "Reisen.Z&APw-rich".  -1 when the path cannot name a mailbox: an empty
 * path or component, more than one component with delim 0, a component
 * containing the delimiter, invalid UTF-8, an escape that decodes to NUL or
 * the delimiter, a component not in canonical form (see above), or one that
 * is a message file name. */
int tree_mailbox_from_path(const char *path, char delim, bool utf8, struct buf *mailbox, struct buf *err);

/* The alias of mailbox, whose canonical path is taken by another one:
 * path with "%~" and eight upper-case hex digits appended to its last
 * component, the digits a hash of mailbox and salt (the same every mount;
 * a caller whose alias is taken too tries the next salt).  A component
 * that would grow beyond TREE_NAME_MAX is cut first, at a character
 * boundary and never inside an escape. */
void tree_alias_path(const char *path, const char *mailbox, uint32_t salt, struct buf *out);

/* True if a single directory-entry name could be a message file: decimal
 * digits "1".."4294967295" without leading zeros, then ".eml"; *uid (may
 * be NULL) gets the number. */
bool tree_is_message_name(const char *name, uint32_t *uid);

#endif
