#include "check.h"
int main(int argc, char **argv)
{
	(void)argc; (void)argv;
	return check_report();
}
