#ifndef IMAPFS_UTIL_H
#define IMAPFS_UTIL_H
#endif
