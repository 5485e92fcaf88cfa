#ifndef IMAPFS_MUTF7_H
#define IMAPFS_MUTF7_H
#endif
