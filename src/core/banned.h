/* Functions that are easy to misuse are compile errors in trackdoc code (after git's banned.h).
 * Use snprintf, td_buf, strtol with checks, or memcpy with an explicit bound instead. */
#ifndef TD_BANNED_H
#define TD_BANNED_H

#define TD__BANNED(func) sorry_##func##_is_banned_in_trackdoc

#undef strcpy
#define strcpy(x, y) TD__BANNED(strcpy)
#undef strcat
#define strcat(x, y) TD__BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) TD__BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) TD__BANNED(strncat)
#undef sprintf
#define sprintf(...) TD__BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TD__BANNED(vsprintf)
#undef gets
#define gets(x) TD__BANNED(gets)
#undef atoi
#define atoi(x) TD__BANNED(atoi)
#undef atol
#define atol(x) TD__BANNED(atol)
#undef strtok
#define strtok(x, y) TD__BANNED(strtok)

#endif
