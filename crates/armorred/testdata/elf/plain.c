#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char buf[16];
    strcpy(buf, argv[argc - 1]);
    printf("%s %d\n", buf, argc);
    return 0;
}
