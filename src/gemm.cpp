// Row-major accumulate-into-C matrix products: a blocked fast path vectorised by the compiler per ISA,
// and the plain triple loops kept as the reference.
#include "lenet/gemm.h"

#include "lenet/simd.h"

namespace lenet {

// C += A·B. Four rows of C at a time share each streamed row of B; the j loop is contiguous and vectorises.
LENET_KERNEL void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    float* c0 = c + (i + 0) * n;
    float* c1 = c + (i + 1) * n;
    float* c2 = c + (i + 2) * n;
    float* c3 = c + (i + 3) * n;
    for (int p = 0; p < k; ++p) {
      const float a0 = a[(i + 0) * k + p], a1 = a[(i + 1) * k + p];
      const float a2 = a[(i + 2) * k + p], a3 = a[(i + 3) * k + p];
      const float* __restrict bp = b + p * n;
#pragma omp simd
      for (int j = 0; j < n; ++j) {
        const float bv = bp[j];
        c0[j] += a0 * bv;
        c1[j] += a1 * bv;
        c2[j] += a2 * bv;
        c3[j] += a3 * bv;
      }
    }
  }
  for (; i < m; ++i) {
    float* __restrict ci = c + i * n;
    for (int p = 0; p < k; ++p) {
      const float av = a[i * k + p];
      const float* __restrict bp = b + p * n;
#pragma omp simd
      for (int j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

// C += A·Bᵀ: each element is a dot product of two contiguous rows; four columns of C share a row of A.
LENET_KERNEL void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k) {
  for (int i = 0; i < m; ++i) {
    const float* __restrict ai = a + i * k;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const float* __restrict b0 = b + (j + 0) * k;
      const float* __restrict b1 = b + (j + 1) * k;
      const float* __restrict b2 = b + (j + 2) * k;
      const float* __restrict b3 = b + (j + 3) * k;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (int p = 0; p < k; ++p) {
        const float av = ai[p];
        s0 += av * b0[p];
        s1 += av * b1[p];
        s2 += av * b2[p];
        s3 += av * b3[p];
      }
      c[i * n + j + 0] += s0;
      c[i * n + j + 1] += s1;
      c[i * n + j + 2] += s2;
      c[i * n + j + 3] += s3;
    }
    for (; j < n; ++j) {
      const float* __restrict bj = b + j * k;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int p = 0; p < k; ++p) s += ai[p] * bj[p];
      c[i * n + j] += s;
    }
  }
}

// C += Aᵀ·B: rank-1 updates, one per row p of A and B, four rows of C at a time.
LENET_KERNEL void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    float* c0 = c + (i + 0) * n;
    float* c1 = c + (i + 1) * n;
    float* c2 = c + (i + 2) * n;
    float* c3 = c + (i + 3) * n;
    for (int p = 0; p < k; ++p) {
      const float* ap = a + p * m + i;
      const float a0 = ap[0], a1 = ap[1], a2 = ap[2], a3 = ap[3];
      const float* __restrict bp = b + p * n;
#pragma omp simd
      for (int j = 0; j < n; ++j) {
        const float bv = bp[j];
        c0[j] += a0 * bv;
        c1[j] += a1 * bv;
        c2[j] += a2 * bv;
        c3[j] += a3 * bv;
      }
    }
  }
  for (; i < m; ++i) {
    float* __restrict ci = c + i * n;
    for (int p = 0; p < k; ++p) {
      const float av = a[p * m + i];
      const float* __restrict bp = b + p * n;
#pragma omp simd
      for (int j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

namespace naive {

void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) s += double(a[i * k + p]) * b[p * n + j];
      c[i * n + j] += float(s);
    }
}

void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) s += double(a[i * k + p]) * b[j * k + p];
      c[i * n + j] += float(s);
    }
}

void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) s += double(a[p * m + i]) * b[p * n + j];
      c[i * n + j] += float(s);
    }
}

}  // namespace naive
}  // namespace lenet
