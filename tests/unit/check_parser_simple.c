/* check_parser_simple.c: everyday responses without literals (status
 * lines, LIST, STATUS, NAMESPACE, ESEARCH): every session sees them, so
 * when these break nothing else works. */
#include "config.h"
#include <check.h>

#include "check_parser_conv.h"
#include "parser.h"

START_TEST(test_simple)
{
	check_conv("A001 OK LOGIN completed\r\n"
		   "* 23 EXISTS\r\n"
		   "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n"
		   "+ Ready for literal data\r\n"
		   "+\r\n"
		   "* 1 RECENT\r\n"
		   "* SEARCH 2 84 882\r\n"
		   "* SEARCH\r\n",
		   NULL,
		   "DONE A001 OK LOGIN completed => A001 OK text=LOGIN completed\n"
		   "DONE * 23 EXISTS => * #23 EXISTS args=()\n"
		   "DONE * CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN => * CAPABILITY args=(IMAP4rev1 STARTTLS AUTH=PLAIN)\n"
		   "DONE + Ready for literal data => + text=Ready for literal data\n"
		   "DONE + => + text=\n"
		   "DONE * 1 RECENT => * #1 RECENT args=()\n"
		   "DONE * SEARCH 2 84 882 => * SEARCH args=(2 84 882)\n"
		   "DONE * SEARCH => * SEARCH args=()\n");
}
END_TEST

START_TEST(test_list_lsub_status)
{
	check_conv("* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
		   "* LIST () NIL \"[Gmail]/Sent Mail\"\r\n"
		   "* LSUB (\\Noselect) \".\" [Gmail]/Drafts\r\n"
		   "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
		   "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))\r\n"
		   "* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3\r\n",
		   NULL,
		   "DONE * LIST (\\HasNoChildren) \"/\" INBOX => * LIST args=((\\HasNoChildren) \"/\" INBOX)\n"
		   "DONE * LIST () NIL \"[Gmail]/Sent Mail\" => * LIST args=(() NIL \"[Gmail]/Sent Mail\")\n"
		   "DONE * LSUB (\\Noselect) \".\" [Gmail]/Drafts => * LSUB args=((\\Noselect) \".\" [Gmail]/Drafts)\n"
		   "DONE * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292) => * STATUS args=(blurdybloop (MESSAGES 231 UIDNEXT 44292))\n"
		   "DONE * NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\")) => * NAMESPACE args=(((\"\" \"/\")) NIL ((\"Shared/\" \"/\")))\n"
		   "DONE * ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 => * ESEARCH args=((TAG \"A282\") UID MIN 2 COUNT 3)\n");
}
END_TEST

void check_parser_add_simple(TCase *tc)
{
	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_list_lsub_status);
}
