#include <stdio.h>
#include <string.h>

void fill(char *p, const char *s) { strcpy(p, s); }

int main(int argc, char **argv) {
    char buf[64];
    fill(buf, argv[argc - 1]);
    printf("%s\n", buf);
    return 0;
}
