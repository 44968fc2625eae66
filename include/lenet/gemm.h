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

// The peak-rate probe: `iterations` rounds of 12 independent fused multiply-adds on the widest vectors in
// use (simd::level()), nothing else, so FLOPs / time approaches what one core's FMA units can do.
// Returns the FLOPs done (2 per lane per multiply-add); *sink keeps the result alive.
double fma_probe(long iterations, float* sink);

namespace naive {
void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k);
void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k);
void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k);
}  // namespace naive

}  // namespace lenet
