/* Copies past a fixed buffer: FORTIFY_SOURCE must abort ("buffer overflow detected"). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char buf[8];
    const char *src = argc > 5 ? argv[0] : "this string is much longer than eight bytes";
    strcpy(buf, src);
    puts(buf);
    return 0;
}
