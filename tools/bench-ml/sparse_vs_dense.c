// Per layer: CModelwireKernels_sparseGemmUsing (AVX2+FMA) against the dense sgemm (the best kernel set
// this CPU has: AVX-512 on this Zen 5) on the pruned nets'
// layer shapes (inputs x units), at 1 row and a 256-row block (what DenseNetwork.forward passes a
// kernel), densities 0.5 to 0.05, best of 9 rounds of many calls (3 with --portable), 1 thread. The rule it informs is
// SparseWeights.isFaster (docs/performance.md, "Pruning and distillation"). err: the largest
// difference from the dense product (AVX2 / portable sparse). `--portable`: both kernels' portable
// variants instead (what a CPU without AVX2+FMA runs).
// clang -O2 -ISources/CModelwireKernels/include tools/bench-ml/sparse_vs_dense.c Sources/CModelwireKernels/*.c -lm -o /tmp/sparse_vs_dense && /tmp/sparse_vs_dense
#include "CModelwireKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static unsigned seed=1; static float rnd(void){seed=seed*1103515245u+12345u;return ((seed>>8)&0xffffff)/16777216.0f;}
int main(int argc, char **argv){
  int avx = !(argc > 1 && strcmp(argv[1], "--portable") == 0);
  long shapes[][2]={{100,256},{256,256},{256,10},{100,64},{64,64},{64,10}};
  double dens[]={0.5,0.3,0.2,0.15,0.125,0.1,0.05};
  long ms[]={1,256};
  for(int si=0;si<6;si++) for(int di=0;di<7;di++) for(int mi=0;mi<2;mi++){
    long k=shapes[si][0], n=shapes[si][1], m=ms[mi];
    float *w=malloc(k*n*4), *a=malloc(m*k*4), *c1=malloc(m*n*4), *c2=malloc(m*n*4);
    for(long i=0;i<k*n;i++) w[i]= rnd()<dens[di]? rnd()-0.5f:0;
    for(long i=0;i<m*k;i++) a[i]=rnd();
    int *cs=malloc((n+1)*4), *ri=malloc(k*n*4); float *v=malloc(k*n*4); int e=0;
    for(long j=0;j<n;j++){cs[j]=e; for(long i=0;i<k;i++) if(w[i*n+j]!=0){ri[e]=i;v[e]=w[i*n+j];e++;}} cs[n]=e;
    int reps = (m==1? 20000: 400) / (avx? 1: 10), rounds = avx? 9: 3;  // the portable kernels are slower
    double bd=1e9,bs=1e9;
    for(int r=0;r<rounds;r++){
      double t=now(); for(int q=0;q<reps;q++) CModelwireKernels_sgemmUsing(avx? CModelwireKernels_kernelLevel(): CModelwireKernels_portable,0,0,m,n,k,1,a,k,w,n,0,c1,n); t=(now()-t)/reps; if(t<bd)bd=t;
      t=now(); for(int q=0;q<reps;q++) CModelwireKernels_sparseGemmUsing(avx,m,n,k,a,k,cs,ri,v,c2,n); t=(now()-t)/reps; if(t<bs)bs=t;
    }
    double err=0; for(long i=0;i<m*n;i++){double d=fabs(c1[i]-c2[i]); if(d>err)err=d;}
    CModelwireKernels_sparseGemmUsing(0,m,n,k,a,k,cs,ri,v,c2,n);
    double err2=0; for(long i=0;i<m*n;i++){double d=fabs(c1[i]-c2[i]); if(d>err2)err2=d;}
    printf("%4ldx%-4ld density %.3f rows %4ld  dense %8.2f us  sparse %8.2f us  sparse/dense speed %5.2f  err %.1e/%.1e\n",
           k,n,dens[di],m,bd*1e6,bs*1e6,bd/bs,err,err2);
    free(w);free(a);free(c1);free(c2);free(cs);free(ri);free(v);
  }
}
