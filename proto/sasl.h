#ifndef IMAPFS_SASL_H
#define IMAPFS_SASL_H
#endif
