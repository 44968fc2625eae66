// Small row-major matrix products behind the fast convolution and full-connection kernels.
// Every product accumulates: C += op(A)·op(B). The naive versions are the reference the tests compare to.
#pragma once

namespace lenet {

// C(m,n) += A(m,k) · B(k,n)
void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k);
// C(m,n) += A(m,k) · B(n,k)ᵀ
void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k);
// C(m,n) += A(k,m)ᵀ · B(k,n)
void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k);

namespace naive {
void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k);
void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k);
void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k);
}  // namespace naive

}  // namespace lenet
