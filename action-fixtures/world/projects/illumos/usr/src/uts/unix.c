/* stand-in illumos kernel source */
int main(void) { return 0; }
