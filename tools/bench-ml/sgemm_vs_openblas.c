// Compares CModelwireKernels_sgemm with the system OpenBLAS on the shapes Modelwire uses (1 thread).
// clang -O2 -ISources/CModelwireKernels/include tools/bench-ml/sgemm_vs_openblas.c Sources/CModelwireKernels/kernels.c -lopenblas -lm -o /tmp/sgemm_vs_openblas && /tmp/sgemm_vs_openblas
#include "CModelwireKernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void openblas_set_num_threads(int);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  openblas_set_num_threads(1);
  long sizes[][3]={{1,64,100},{32,64,100},{32,100,64},{100,64,32},{1024,64,100},{256,256,256},{1024,1024,1024}};
  int ta[]={0,0,0,1,0,0,0}, tb[]={0,0,1,0,0,0,0};
  for(int s=0;s<7;s++){long m=sizes[s][0],n=sizes[s][1],k=sizes[s][2];
    float*a=malloc(4*m*k),*b=malloc(4*k*n),*c=malloc(4*m*n);
    for(long i=0;i<m*k;i++)a[i]=rand()/(float)RAND_MAX; for(long i=0;i<k*n;i++)b[i]=rand()/(float)RAND_MAX;
    long lda=ta[s]?m:k, ldb=tb[s]?k:n;
    int reps=(m*n*k>1e8)?10:(int)(1e9/(m*n*k)); if(reps>200000)reps=200000;
    double b1=1e9,b2=1e9;
    for(int r=0;r<reps;r++){double t=now(); CModelwireKernels_sgemm(ta[s],tb[s],m,n,k,1,a,lda,b,ldb,0,c,n); t=now()-t; if(t<b1)b1=t;
      t=now(); cblas_sgemm(CblasRowMajor,ta[s]?CblasTrans:CblasNoTrans,tb[s]?CblasTrans:CblasNoTrans,m,n,k,1,a,lda,b,ldb,0,c,n); t=now()-t; if(t<b2)b2=t;}
    printf("%4ldx%4ldx%4ld tA%d tB%d: ours %6.2f us %5.1f GFLOP/s | openblas %6.2f us %5.1f GFLOP/s\n",m,n,k,ta[s],tb[s],b1*1e6,2.0*m*n*k/b1/1e9,b2*1e6,2.0*m*n*k/b2/1e9);}
}
