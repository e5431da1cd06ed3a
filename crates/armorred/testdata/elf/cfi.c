#include <stdio.h>

typedef int (*op_t)(int);
int add1(int x) { return x + 1; }
int add2(int x) { return x + 2; }
int add3(int x) { return x + 3; }
op_t ops[] = {add1, add2, add3};

int main(int argc, char **argv) {
    char buf[32];
    volatile int i = argc % 3;
    snprintf(buf, sizeof buf, "%d %s", ops[i](argc), argv[0]);
    puts(buf);
    return 0;
}
