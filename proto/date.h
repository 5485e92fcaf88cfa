#ifndef IMAPFS_DATE_H
#define IMAPFS_DATE_H
#endif
