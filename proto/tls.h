#ifndef IMAPFS_TLS_H
#define IMAPFS_TLS_H
#endif
