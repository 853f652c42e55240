#include <stdio.h>
int main(void)
{
	puts("s3bridge " S3B_VERSION);
	return 0;
}
