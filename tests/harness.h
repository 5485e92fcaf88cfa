#ifndef IMAPFS_HARNESS_H
#define IMAPFS_HARNESS_H
#endif
