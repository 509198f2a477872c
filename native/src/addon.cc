// trickbench_native: the heavy training kernels of the wasm backend on native code.
//
// The wasm backend keeps every tensor in its WebAssembly heap; the JS side (src/trainer/native)
// hands us Float32Array views of that heap, so nothing is copied: we read inputs and write outputs
// in place. Convolutions (forward with bias and ReLU fused, backward data, backward weights) run on
// oneDNN, the library PyTorch's CPU convolutions use, with its JIT kernels for the machine's widest
// ISA and OpenMP threads on every core. Max-pooling's gradient is a plain loop over the output,
// parallel over images.
//
// Layouts are tfjs': activations NHWC, filters HWIO ([kh, kw, in, out]). oneDNN picks its own
// weight layout (format_tag::any); filters and filter gradients are reordered between the two,
// which is cheap (filters are small). Primitives are cached by their shapes: creating one costs
// far more than running it at our sizes.
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& strm() {
  static dnnl::stream s(eng());
  return s;
}

// ------------------------------------------------------------------------ N-API helpers
struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

float* f32(napi_env env, napi_value v, size_t need, const char* what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return nullptr;
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) throw JsError(std::string(what) + ": expected a Float32Array");
  napi_typedarray_type type;
  size_t len;
  void* data;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off);
  if (type != napi_float32_array) throw JsError(std::string(what) + ": expected a Float32Array");
  if (len != need) {
    throw JsError(std::string(what) + ": expected " + std::to_string(need) + " elements, got " + std::to_string(len));
  }
  return static_cast<float*>(data);
}

std::vector<int64_t> ints(napi_env env, napi_value v, size_t need, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off;
  if (is) napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off);
  if (!is || type != napi_int32_array || len != need) {
    throw JsError(std::string(what) + ": expected an Int32Array of " + std::to_string(need));
  }
  const int32_t* p = static_cast<const int32_t*>(data);
  std::vector<int64_t> out(p, p + len);
  for (auto x : out) {
    if (x < 0) throw JsError(std::string(what) + ": negative value");
  }
  return out;
}

bool boolean(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t n) {
  std::vector<napi_value> a(n);
  size_t got = n;
  napi_get_cb_info(env, info, &got, a.data(), nullptr, nullptr);
  if (got < n) throw JsError("expected " + std::to_string(n) + " arguments, got " + std::to_string(got));
  return a;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "ERR_TRICKBENCH_NATIVE", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_TRICKBENCH_NATIVE", e.what());
  }
  return nullptr;
}

// g where y > 0, else +0 (ReLU's gradient), as bit operations: GCC does not if-convert the plain
// select in every loop, and a branch per element is 8x slower on random masks.
inline __attribute__((always_inline)) float reluGate(float y, float g) {
  uint32_t bits;
  std::memcpy(&bits, &g, sizeof bits);
  bits &= 0u - static_cast<uint32_t>(y > 0.f);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// ------------------------------------------------------------------------ parallel loops
// Element-wise loops are written as plain functions over restrict pointers, compiled for AVX2 and
// for the baseline (GCC picks at load time), and split into one contiguous range per OpenMP
// thread. (The same loop under `omp parallel for simd` was not vectorised: a branch per element,
// 8x slower on random ReLU masks.)
template <typename F>
void parallelRanges(int64_t n, F&& f) {
#pragma omp parallel
  {
#ifdef _OPENMP
    const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
#else
    const int64_t t = 0, T = 1;
#endif
    const int64_t chunk = (n + T - 1) / T, lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
    if (lo < hi) f(lo, hi);
  }
}

// m = y > 0 ? dy : 0 (ReLU's gradient; 0 at y == 0 as in PyTorch and tfjs) over P pixels of C
// channels, also adding each channel's sum of m into acc (a bias gradient) in the same pass;
// without y, only the sums of dy.
__attribute__((target_clones("avx2", "default"))) void reluMaskSum(const float* __restrict y,
                                                                   const float* __restrict dy, float* __restrict m,
                                                                   float* __restrict acc, int64_t P, int64_t C) {
  for (int64_t p = 0; p < P; p++, y += C, dy += C, m += C) {
    for (int64_t c = 0; c < C; c++) {
      const float v = reluGate(y[c], dy[c]);
      m[c] = v;
      acc[c] += v;
    }
  }
}
__attribute__((target_clones("avx2", "default"))) void channelSum(const float* __restrict dy, float* __restrict acc,
                                                                  int64_t P, int64_t C) {
  for (int64_t p = 0; p < P; p++, dy += C) {
    for (int64_t c = 0; c < C; c++) acc[c] += dy[c];
  }
}

// best = max(best, v) per channel; NaN wins (as in PyTorch and tfjs).
__attribute__((target_clones("avx2", "default"))) void maxInto(float* __restrict best, const float* __restrict v,
                                                               int64_t n) {
  for (int64_t c = 0; c < n; c++) best[c] = (v[c] > best[c] || v[c] != v[c]) ? v[c] : best[c];
}

// One window element of a max-pool gradient: dx = dy where this element is the first maximum of
// its window (done marks channels whose maximum was already found), else 0.
__attribute__((target_clones("avx2", "default"))) void routeMax(const float* __restrict x, const float* __restrict best,
                                                                const float* __restrict dy, uint32_t* __restrict done,
                                                                float* __restrict dx, int64_t n) {
  for (int64_t c = 0; c < n; c++) {
    // Bitwise, not short-circuit, so the loop has no branches and vectorises.
    const uint32_t same = 0u - static_cast<uint32_t>((x[c] == best[c]) | ((x[c] != x[c]) & (best[c] != best[c])));
    const uint32_t hit = same & ~done[c];
    uint32_t bits;
    std::memcpy(&bits, &dy[c], sizeof bits);
    bits &= hit;
    std::memcpy(&dx[c], &bits, sizeof bits);
    done[c] |= hit;
  }
}

// ------------------------------------------------------------------------ convolution
// Geometry as the JS side sends it (Int32Array of 17):
// N, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, padTop, padLeft, padBottom, padRight
struct ConvGeom {
  int64_t N, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR;
  explicit ConvGeom(const std::vector<int64_t>& g)
      : N(g[0]), H(g[1]), W(g[2]), C(g[3]), OH(g[4]), OW(g[5]), OC(g[6]), KH(g[7]), KW(g[8]), SH(g[9]),
        SW(g[10]), DH(g[11]), DW(g[12]), PT(g[13]), PL(g[14]), PB(g[15]), PR(g[16]) {
    if (SH < 1 || SW < 1 || DH < 1 || DW < 1) throw JsError("conv: strides and dilations must be >= 1");
  }
  memory::desc src() const { return {{N, C, H, W}, dt::f32, tag::nhwc}; }
  memory::desc dst() const { return {{N, OC, OH, OW}, dt::f32, tag::nhwc}; }
  memory::desc userWeights() const { return {{OC, C, KH, KW}, dt::f32, tag::hwio}; }
  memory::desc anyWeights() const { return {{OC, C, KH, KW}, dt::f32, tag::any}; }
  memory::desc bias() const { return {{OC}, dt::f32, tag::x}; }
  memory::dims strides() const { return {SH, SW}; }
  memory::dims dilates() const { return {DH - 1, DW - 1}; }
  memory::dims padL() const { return {PT, PL}; }
  memory::dims padR() const { return {PB, PR}; }
  size_t xSize() const { return size_t(N * H * W * C); }
  size_t ySize() const { return size_t(N * OH * OW * OC); }
  size_t wSize() const { return size_t(KH * KW * C * OC); }
};

std::string key(const char* kind, const std::vector<int64_t>& g, int flags) {
  std::string k(kind);
  for (auto v : g) k += "," + std::to_string(v);
  return k + "|" + std::to_string(flags);
}

dnnl::convolution_forward::primitive_desc forwardHint(const ConvGeom& g) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src(),
                                    g.anyWeights(), memory::desc(), g.dst(), g.strides(), g.dilates(), g.padL(),
                                    g.padR());
  return {d, eng()};
}

struct ConvFwd {
  dnnl::convolution_forward prim;
  memory::desc weightsMd;
  bool reorderWeights;
  std::unique_ptr<dnnl::reorder> toPrim;
  memory primWeights;
};

struct ConvBwdData {
  dnnl::convolution_backward_data prim;
  bool reorderWeights;
  std::unique_ptr<dnnl::reorder> toPrim;
  memory primWeights;
};

struct ConvBwdWeights {
  dnnl::convolution_backward_weights prim;
  bool reorderWeights;
  std::unique_ptr<dnnl::reorder> fromPrim;
  memory primWeights;
};

std::map<std::string, std::unique_ptr<ConvFwd>> fwdCache;
std::map<std::string, std::unique_ptr<ConvBwdData>> bwdDataCache;
std::map<std::string, std::unique_ptr<ConvBwdWeights>> bwdWeightsCache;
std::string lastImpl;

// Reorders between the user's HWIO filter at `user` and the primitive's layout, when they differ.
void prepareReorder(const memory::desc& prim, const ConvGeom& g, bool toPrim, bool& needed,
                    std::unique_ptr<dnnl::reorder>& r, memory& primMem) {
  needed = prim != g.userWeights();
  if (!needed) return;
  primMem = memory(prim, eng());
  memory user(g.userWeights(), eng(), DNNL_MEMORY_NONE);
  r = toPrim ? std::make_unique<dnnl::reorder>(user, primMem) : std::make_unique<dnnl::reorder>(primMem, user);
}

// The filter as a primitive reads it: the user's HWIO memory, or its reorder into the primitive's layout.
memory weightsFor(bool reorder, dnnl::reorder* toPrim, memory& primWeights, memory& wUser) {
  if (!reorder) return wUser;
  toPrim->execute(strm(), wUser, primWeights);
  return primWeights;
}

// convForward(x, w, bias | null, y, geom, relu)
napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 6);
    auto gv = ints(env, a[4], 17, "geom");
    ConvGeom g(gv);
    float* x = f32(env, a[0], g.xSize(), "x");
    float* w = f32(env, a[1], g.wSize(), "filter");
    float* b = f32(env, a[2], size_t(g.OC), "bias");
    float* y = f32(env, a[3], g.ySize(), "y");
    bool relu = boolean(env, a[5]);
    if (!x || !w || !y) throw JsError("convForward: x, filter and y are required");
    auto k = key("fwd", gv, (b ? 1 : 0) | (relu ? 2 : 0));
    auto& slot = fwdCache[k];
    if (!slot) {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                        g.src(), g.anyWeights(), b ? g.bias() : memory::desc(), g.dst(), g.strides(),
                                        g.dilates(), g.padL(), g.padR());
      dnnl::primitive_attr attr;
      if (relu) {
        dnnl::post_ops po;
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        attr.set_post_ops(po);
      }
      dnnl::convolution_forward::primitive_desc pd(d, attr, eng());
      auto s = std::make_unique<ConvFwd>();
      s->prim = dnnl::convolution_forward(pd);
      prepareReorder(pd.weights_desc(), g, true, s->reorderWeights, s->toPrim, s->primWeights);
      lastImpl = pd.impl_info_str();
      slot = std::move(s);
    }
    memory wUser(g.userWeights(), eng(), w);
    std::unordered_map<int, memory> m{{DNNL_ARG_SRC, memory(g.src(), eng(), x)},
                                      {DNNL_ARG_DST, memory(g.dst(), eng(), y)}};
    m[DNNL_ARG_WEIGHTS] = weightsFor(slot->reorderWeights, slot->toPrim.get(), slot->primWeights, wUser);
    if (b) m[DNNL_ARG_BIAS] = memory(g.bias(), eng(), b);
    slot->prim.execute(strm(), m);
    strm().wait();
    return undefined(env);
  });
}

// dx = conv's input gradient of dy with filter w (user layout), on a cached oneDNN primitive.
void backwardData(const ConvGeom& g, const std::vector<int64_t>& gv, float* dy, float* w, float* dx) {
  auto& slot = bwdDataCache[key("bwd_data", gv, 0)];
  if (!slot) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(), g.dst(),
                                            g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_data::primitive_desc pd(d, eng(), forwardHint(g));
    auto s = std::make_unique<ConvBwdData>();
    s->prim = dnnl::convolution_backward_data(pd);
    prepareReorder(pd.weights_desc(), g, true, s->reorderWeights, s->toPrim, s->primWeights);
    lastImpl = pd.impl_info_str();
    slot = std::move(s);
  }
  memory wUser(g.userWeights(), eng(), w);
  std::unordered_map<int, memory> m{{DNNL_ARG_DIFF_DST, memory(g.dst(), eng(), dy)},
                                    {DNNL_ARG_DIFF_SRC, memory(g.src(), eng(), dx)}};
  m[DNNL_ARG_WEIGHTS] = weightsFor(slot->reorderWeights, slot->toPrim.get(), slot->primWeights, wUser);
  slot->prim.execute(strm(), m);
}

// dw (user layout) and, when db is given, the bias gradient of dy, on a cached oneDNN primitive.
void backwardWeights(const ConvGeom& g, const std::vector<int64_t>& gv, float* x, float* dy, float* dw, float* db) {
  auto& slot = bwdWeightsCache[key("bwd_weights", gv, db ? 1 : 0)];
  if (!slot) {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(),
                                               db ? g.bias() : memory::desc(), g.dst(), g.strides(), g.dilates(),
                                               g.padL(), g.padR());
    dnnl::convolution_backward_weights::primitive_desc pd(d, eng(), forwardHint(g));
    auto s = std::make_unique<ConvBwdWeights>();
    s->prim = dnnl::convolution_backward_weights(pd);
    prepareReorder(pd.diff_weights_desc(), g, false, s->reorderWeights, s->fromPrim, s->primWeights);
    lastImpl = pd.impl_info_str();
    slot = std::move(s);
  }
  memory wUser(g.userWeights(), eng(), dw);
  std::unordered_map<int, memory> m{{DNNL_ARG_SRC, memory(g.src(), eng(), x)},
                                    {DNNL_ARG_DIFF_DST, memory(g.dst(), eng(), dy)}};
  m[DNNL_ARG_DIFF_WEIGHTS] = slot->reorderWeights ? slot->primWeights : wUser;
  if (db) m[DNNL_ARG_DIFF_BIAS] = memory(g.bias(), eng(), db);
  slot->prim.execute(strm(), m);
  if (slot->reorderWeights) slot->fromPrim->execute(strm(), slot->primWeights, wUser);
}

// convBackwardData(dy, w, dx, geom)
napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 4);
    auto gv = ints(env, a[3], 17, "geom");
    ConvGeom g(gv);
    float* dy = f32(env, a[0], g.ySize(), "dy");
    float* w = f32(env, a[1], g.wSize(), "filter");
    float* dx = f32(env, a[2], g.xSize(), "dx");
    if (!dy || !w || !dx) throw JsError("convBackwardData: dy, filter and dx are required");
    backwardData(g, gv, dy, w, dx);
    strm().wait();
    return undefined(env);
  });
}

// convBackwardWeights(x, dy, dw, dbias | null, geom)
napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 5);
    auto gv = ints(env, a[4], 17, "geom");
    ConvGeom g(gv);
    float* x = f32(env, a[0], g.xSize(), "x");
    float* dy = f32(env, a[1], g.ySize(), "dy");
    float* dw = f32(env, a[2], g.wSize(), "dw");
    float* db = f32(env, a[3], size_t(g.OC), "dbias");
    if (!x || !dy || !dw) throw JsError("convBackwardWeights: x, dy and dw are required");
    backwardWeights(g, gv, x, dy, dw, db);
    strm().wait();
    return undefined(env);
  });
}

// convBackward(dy, x, w, y | null, dx | null, dw, dbias | null, geom): the whole backward pass of
// relu?(conv(x, w) + bias). With y (the block's output) the ReLU mask is applied first (dy where
// y > 0, else 0, the gradient PyTorch and tfjs give at 0) in the same pass that sums dbias;
// dx is skipped when null.
std::vector<float> maskedDy;

napi_value ConvBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 8);
    auto gv = ints(env, a[7], 17, "geom");
    ConvGeom g(gv);
    float* dy = f32(env, a[0], g.ySize(), "dy");
    float* x = f32(env, a[1], g.xSize(), "x");
    float* w = f32(env, a[2], g.wSize(), "filter");
    float* y = f32(env, a[3], g.ySize(), "y");
    float* dx = f32(env, a[4], g.xSize(), "dx");
    float* dw = f32(env, a[5], g.wSize(), "dw");
    float* db = f32(env, a[6], size_t(g.OC), "dbias");
    if (!dy || !x || !w || !dw) throw JsError("convBackward: dy, x, filter and dw are required");
    float* grad = dy;
    const int64_t P = g.N * g.OH * g.OW, C = g.OC;
    if (y && size_t(P * C) > maskedDy.size()) maskedDy.resize(size_t(P * C));
    if (y || db) {
      // ReLU mask and bias gradient in one pass: per-thread channel sums, added up in order.
#ifdef _OPENMP
      const int T = omp_get_max_threads();
#else
      const int T = 1;
#endif
      std::vector<float> partial(size_t(T * C), 0.f);
      float* m = maskedDy.data();
#pragma omp parallel num_threads(T)
      {
#ifdef _OPENMP
        const int64_t t = omp_get_thread_num();
#else
        const int64_t t = 0;
#endif
        const int64_t chunk = (P + T - 1) / T, lo = std::min(P, t * chunk), hi = std::min(P, lo + chunk);
        float* acc = partial.data() + t * C;
        if (lo < hi) {
          if (y) {
            reluMaskSum(y + lo * C, dy + lo * C, m + lo * C, acc, hi - lo, C);
          } else {
            channelSum(dy + lo * C, acc, hi - lo, C);
          }
        }
      }
      if (y) grad = m;
      if (db) {
        for (int64_t c = 0; c < C; c++) {
          float sum = 0.f;
          for (int t = 0; t < T; t++) sum += partial[size_t(t * C + c)];
          db[c] = sum;
        }
      }
    }
    backwardWeights(g, gv, x, grad, dw, nullptr);  // dbias came from the mask pass
    if (dx) backwardData(g, gv, grad, w, dx);
    strm().wait();
    return undefined(env);
  });
}

// maxPoolForward(x, y, geom) with the geometry of maxPoolBackward; padding never wins.
napi_value MaxPoolForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 3);
    auto g = ints(env, a[2], 14, "geom");
    const int64_t N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7], SH = g[8],
                  SW = g[9], DH = g[10], DW = g[11], PT = g[12], PL = g[13];
    if (SH < 1 || SW < 1 || DH < 1 || DW < 1) throw JsError("maxPoolForward: strides and dilations must be >= 1");
    float* x = f32(env, a[0], size_t(N * H * W * C), "x");
    float* y = f32(env, a[1], size_t(N * OH * OW * C), "y");
    if (!x || !y) throw JsError("maxPoolForward: x and y are required");
#pragma omp parallel for schedule(static) collapse(2)
    for (int64_t n = 0; n < N; n++) {
      for (int64_t oy = 0; oy < OH; oy++) {
        const float* xn = x + n * H * W * C;
        for (int64_t ox = 0; ox < OW; ox++) {
          float* out = y + ((n * OH + oy) * OW + ox) * C;
          bool first = true;
          for (int64_t ky = 0; ky < KH; ky++) {
            const int64_t iy = oy * SH + ky * DH - PT;
            if (iy < 0 || iy >= H) continue;
            for (int64_t kx = 0; kx < KW; kx++) {
              const int64_t ix = ox * SW + kx * DW - PL;
              if (ix < 0 || ix >= W) continue;
              const float* px = xn + (iy * W + ix) * C;
              if (first) {
                std::memcpy(out, px, sizeof(float) * size_t(C));
                first = false;
              } else {
                maxInto(out, px, C);
              }
            }
          }
          if (first) std::fill(out, out + C, -std::numeric_limits<float>::infinity());
        }
      }
    }
    return undefined(env);
  });
}

// ------------------------------------------------------------------------ max pooling gradient
// maxPoolBackward(dy, x, dx, geom) with geom = N, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, padTop,
// padLeft. Each output's gradient goes to the first maximum of its window in row-major order (the
// element PyTorch and tfjs' cpu backend pick); padding never wins.
napi_value MaxPoolBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 4);
    auto g = ints(env, a[3], 14, "geom");
    const int64_t N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7], SH = g[8],
                  SW = g[9], DH = g[10], DW = g[11], PT = g[12], PL = g[13];
    if (SH < 1 || SW < 1 || DH < 1 || DW < 1) throw JsError("maxPoolBackward: strides and dilations must be >= 1");
    float* dy = f32(env, a[0], size_t(N * OH * OW * C), "dy");
    float* x = f32(env, a[1], size_t(N * H * W * C), "x");
    float* dx = f32(env, a[2], size_t(N * H * W * C), "dx");
    if (!dy || !x || !dx) throw JsError("maxPoolBackward: dy, x and dx are required");
    if (KH <= SH && KW <= SW && DH == 1 && DW == 1 && PT == 0 && PL == 0) {
      // Windows do not overlap: each input element is in at most one window, so dx is written
      // once per element (no zero fill, no scatter): the window's maximum, then routing.
      const int64_t rows = N * OH;
#pragma omp parallel
      {
        std::vector<float> best(static_cast<size_t>(C));
        std::vector<uint32_t> done(static_cast<size_t>(C));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
          const int64_t n = r / OH, oy = r % OH;
          const float* xn = x + n * H * W * C;
          float* dxn = dx + n * H * W * C;
          // Rows of the input no window reads (H not a multiple of the stride) get zeros.
          const int64_t yEnd = oy == OH - 1 ? H : (oy + 1) * SH;
          for (int64_t iy = oy * SH + KH; iy < yEnd; iy++) std::memset(dxn + iy * W * C, 0, sizeof(float) * size_t(W * C));
          for (int64_t ox = 0; ox < OW; ox++) {
            const int64_t iy0 = oy * SH, ix0 = ox * SW;
            std::memcpy(best.data(), xn + (iy0 * W + ix0) * C, sizeof(float) * size_t(C));
            for (int64_t ky = 0; ky < KH; ky++) {
              for (int64_t kx = 0; kx < KW; kx++) maxInto(best.data(), xn + ((iy0 + ky) * W + ix0 + kx) * C, C);
            }
            std::fill(done.begin(), done.end(), 0u);
            const float* d = dy + ((n * OH + oy) * OW + ox) * C;
            for (int64_t ky = 0; ky < KH; ky++) {
              for (int64_t kx = 0; kx < KW; kx++) {
                const int64_t o = ((iy0 + ky) * W + ix0 + kx) * C;
                routeMax(xn + o, best.data(), d, done.data(), dxn + o, C);
              }
              // Columns between windows (stride > kernel) and past the last window.
              const int64_t xEnd = ox == OW - 1 ? W : ix0 + SW;
              if (ix0 + KW < xEnd) std::memset(dxn + ((iy0 + ky) * W + ix0 + KW) * C, 0, sizeof(float) * size_t((xEnd - ix0 - KW) * C));
            }
          }
        }
      }
      return undefined(env);
    }
#pragma omp parallel
    {
      std::vector<float> best(static_cast<size_t>(C));
      std::vector<int64_t> at(static_cast<size_t>(C));
#pragma omp for schedule(static)
      for (int64_t n = 0; n < N; n++) {
        float* dxn = dx + n * H * W * C;
        const float* xn = x + n * H * W * C;
        const float* dyn = dy + n * OH * OW * C;
        std::memset(dxn, 0, sizeof(float) * size_t(H * W * C));
        for (int64_t oy = 0; oy < OH; oy++) {
          for (int64_t ox = 0; ox < OW; ox++) {
            std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
            std::fill(at.begin(), at.end(), -1);
            for (int64_t ky = 0; ky < KH; ky++) {
              const int64_t iy = oy * SH + ky * DH - PT;
              if (iy < 0 || iy >= H) continue;
              for (int64_t kx = 0; kx < KW; kx++) {
                const int64_t ix = ox * SW + kx * DW - PL;
                if (ix < 0 || ix >= W) continue;
                const int64_t base = (iy * W + ix) * C;
                const float* px = xn + base;
                for (int64_t c = 0; c < C; c++) {
                  // NaN wins, as in PyTorch; otherwise strictly greater keeps the first maximum.
                  if (at[c] < 0 || px[c] > best[c] || (px[c] != px[c] && best[c] == best[c])) {
                    best[c] = px[c];
                    at[c] = base + c;
                  }
                }
              }
            }
            const float* d = dyn + (oy * OW + ox) * C;
            for (int64_t c = 0; c < C; c++) {
              if (at[c] >= 0) dxn[at[c]] += d[c];
            }
          }
        }
      }
    }
    return undefined(env);
  });
}

// ------------------------------------------------------------------------ batch normalisation
// Training-mode BatchNorm over [M, C] rows (every axis but channels), fused with the extras of
// src/trainer/models/batch-norm.ts: z = x + plus; y = relu?(gamma * (z - mean) * inv + beta +
// residual), inv = 1 / sqrt(biased var + eps). Sums accumulate in double, per thread, then in order.

__attribute__((target_clones("avx2", "default"))) void addRows(const float* __restrict a, const float* __restrict b,
                                                               float* __restrict z, double* __restrict acc,
                                                               int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; r++, a += C, b += C, z += C) {
    for (int64_t c = 0; c < C; c++) {
      z[c] = a[c] + b[c];
      acc[c] += z[c];
    }
  }
}
__attribute__((target_clones("avx2", "default"))) void sumRows(const float* __restrict z, double* __restrict acc,
                                                               int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; r++, z += C) {
    for (int64_t c = 0; c < C; c++) acc[c] += z[c];
  }
}
__attribute__((target_clones("avx2", "default"))) void sqDevRows(const float* __restrict z, const float* __restrict mean,
                                                                 double* __restrict acc, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; r++, z += C) {
    for (int64_t c = 0; c < C; c++) {
      const float d = z[c] - mean[c];
      acc[c] += double(d) * double(d);
    }
  }
}
__attribute__((target_clones("avx2", "default"))) void bnOutRows(const float* __restrict z, const float* __restrict mean,
                                                                 const float* __restrict scale,
                                                                 const float* __restrict beta,
                                                                 const float* __restrict res, float* __restrict y,
                                                                 int64_t rows, int64_t C, bool relu) {
  for (int64_t r = 0; r < rows; r++, z += C, y += C) {
    for (int64_t c = 0; c < C; c++) {
      float v = (z[c] - mean[c]) * scale[c] + beta[c];
      if (res) v += res[r * C + c];
      y[c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
  }
}
// Backward pass 1: dOut = relu mask of dy (by y > 0), optionally stored; sums of dOut and dOut * xhat.
// Templates per (ReLU, store) so each loop body is branch-free and vectorises; the wrappers below
// are compiled for AVX2 and the baseline.
template <bool RELU, bool STORE>
inline __attribute__((always_inline)) void bnGradSumsT(const float* __restrict dy, const float* __restrict y,
                                                       const float* __restrict z, const float* __restrict mean,
                                                       const float* __restrict inv, float* __restrict dOutStore,
                                                       double* __restrict sumD, double* __restrict sumDX, int64_t rows,
                                                       int64_t C) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t o = r * C;
    for (int64_t c = 0; c < C; c++) {
      const float d = RELU ? reluGate(y[o + c], dy[o + c]) : dy[o + c];
      if (STORE) dOutStore[o + c] = d;
      sumD[c] += d;
      sumDX[c] += double(d * ((z[o + c] - mean[c]) * inv[c]));
    }
  }
}
#define BN_GRAD_SUMS(NAME, RELU, STORE)                                                                          \
  __attribute__((target_clones("avx2", "default"))) void NAME(                                                 \
      const float* __restrict dy, const float* __restrict y, const float* __restrict z,                        \
      const float* __restrict mean, const float* __restrict inv, float* __restrict st, double* __restrict sumD, \
      double* __restrict sumDX, int64_t rows, int64_t C) {                                                     \
    bnGradSumsT<RELU, STORE>(dy, y, z, mean, inv, st, sumD, sumDX, rows, C);                                   \
  }
BN_GRAD_SUMS(bnGradSums00, false, false)
BN_GRAD_SUMS(bnGradSums01, false, true)
BN_GRAD_SUMS(bnGradSums10, true, false)
BN_GRAD_SUMS(bnGradSums11, true, true)
void bnGradSums(const float* dy, const float* y, const float* z, const float* mean, const float* inv, float* st,
                double* sumD, double* sumDX, int64_t rows, int64_t C) {
  auto f = y ? (st ? bnGradSums11 : bnGradSums10) : (st ? bnGradSums01 : bnGradSums00);
  f(dy, y, z, mean, inv, st, sumD, sumDX, rows, C);
}

// Backward pass 2: dz = gamma * inv * (dOut - dBeta / M - xhat * dGamma / M).
template <bool RELU>
inline __attribute__((always_inline)) void bnGradInputT(const float* __restrict dy, const float* __restrict y,
                                                        const float* __restrict z, const float* __restrict mean,
                                                        const float* __restrict inv, const float* __restrict k,
                                                        const float* __restrict mB, const float* __restrict mG,
                                                        float* __restrict dz, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t o = r * C;
    for (int64_t c = 0; c < C; c++) {
      const float d = RELU ? reluGate(y[o + c], dy[o + c]) : dy[o + c];
      const float xhat = (z[o + c] - mean[c]) * inv[c];
      dz[o + c] = k[c] * (d - mB[c] - xhat * mG[c]);
    }
  }
}
#define BN_GRAD_INPUT(NAME, RELU)                                                                               \
  __attribute__((target_clones("avx2", "default"))) void NAME(                                                \
      const float* __restrict dy, const float* __restrict y, const float* __restrict z,                       \
      const float* __restrict mean, const float* __restrict inv, const float* __restrict k,                   \
      const float* __restrict mB, const float* __restrict mG, float* __restrict dz, int64_t rows, int64_t C) { \
    bnGradInputT<RELU>(dy, y, z, mean, inv, k, mB, mG, dz, rows, C);                                          \
  }
BN_GRAD_INPUT(bnGradInput0, false)
BN_GRAD_INPUT(bnGradInput1, true)
void bnGradInput(const float* dy, const float* y, const float* z, const float* mean, const float* inv, const float* k,
                 const float* mB, const float* mG, float* dz, int64_t rows, int64_t C) {
  (y ? bnGradInput1 : bnGradInput0)(dy, y, z, mean, inv, k, mB, mG, dz, rows, C);
}

template <typename F>
std::vector<double> channelReduce(int64_t M, int64_t C, int nAcc, F&& f) {
#ifdef _OPENMP
  const int T = omp_get_max_threads();
#else
  const int T = 1;
#endif
  std::vector<double> partial(size_t(T) * size_t(nAcc) * size_t(C), 0.0);
#pragma omp parallel num_threads(T)
  {
#ifdef _OPENMP
    const int64_t t = omp_get_thread_num();
#else
    const int64_t t = 0;
#endif
    const int64_t chunk = (M + T - 1) / T, lo = std::min(M, t * chunk), hi = std::min(M, lo + chunk);
    if (lo < hi) f(lo, hi, partial.data() + size_t(t) * size_t(nAcc) * size_t(C));
  }
  std::vector<double> total(size_t(nAcc) * size_t(C), 0.0);
  for (int t = 0; t < T; t++) {
    for (size_t i = 0; i < total.size(); i++) total[i] += partial[size_t(t) * total.size() + i];
  }
  return total;
}

// bnForward(x, plus | null, z | null, residual | null, gamma, beta, y, mean, variance, inv, M, C, eps, relu):
// with plus, z receives x + plus (saved for the backward pass); variance is the biased one.
napi_value BnForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 14);
    int64_t M = 0, C = 0;
    double eps = 0;
    napi_get_value_int64(env, a[10], &M);
    napi_get_value_int64(env, a[11], &C);
    napi_get_value_double(env, a[12], &eps);
    const bool relu = boolean(env, a[13]);
    if (M < 1 || C < 1) throw JsError("bnForward: M and C must be >= 1");
    const size_t n = size_t(M * C);
    float* x = f32(env, a[0], n, "x");
    float* plus = f32(env, a[1], n, "plus");
    float* z = f32(env, a[2], n, "z");
    float* res = f32(env, a[3], n, "residual");
    float* gamma = f32(env, a[4], size_t(C), "gamma");
    float* beta = f32(env, a[5], size_t(C), "beta");
    float* y = f32(env, a[6], n, "y");
    float* mean = f32(env, a[7], size_t(C), "mean");
    float* var = f32(env, a[8], size_t(C), "variance");
    float* inv = f32(env, a[9], size_t(C), "inv");
    if (!x || !gamma || !beta || !y || !mean || !var || !inv || (plus && !z)) throw JsError("bnForward: missing argument");
    const float* src = x;
    std::vector<double> s1;
    if (plus) {
      s1 = channelReduce(M, C, 1, [&](int64_t lo, int64_t hi, double* acc) {
        addRows(x + lo * C, plus + lo * C, z + lo * C, acc, hi - lo, C);
      });
      src = z;
    } else {
      s1 = channelReduce(M, C, 1, [&](int64_t lo, int64_t hi, double* acc) { sumRows(x + lo * C, acc, hi - lo, C); });
    }
    for (int64_t c = 0; c < C; c++) mean[c] = float(s1[size_t(c)] / double(M));
    auto s2 = channelReduce(M, C, 1, [&](int64_t lo, int64_t hi, double* acc) {
      sqDevRows(src + lo * C, mean, acc, hi - lo, C);
    });
    std::vector<float> scale(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; c++) {
      var[c] = float(s2[size_t(c)] / double(M));
      inv[c] = float(1.0 / std::sqrt(double(var[c]) + eps));
      scale[size_t(c)] = gamma[c] * inv[c];
    }
    parallelRanges(M, [&](int64_t lo, int64_t hi) {
      bnOutRows(src + lo * C, mean, scale.data(), beta, res ? res + lo * C : nullptr, y + lo * C, hi - lo, C, relu);
    });
    return undefined(env);
  });
}

// bnBackward(dy, y | null, z, mean, inv, gamma, dz, dGamma, dBeta, dResidual | null, M, C): y given
// for a ReLU block; dResidual receives the masked dy (the residual's gradient).
napi_value BnBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 12);
    int64_t M = 0, C = 0;
    napi_get_value_int64(env, a[10], &M);
    napi_get_value_int64(env, a[11], &C);
    if (M < 1 || C < 1) throw JsError("bnBackward: M and C must be >= 1");
    const size_t n = size_t(M * C);
    float* dy = f32(env, a[0], n, "dy");
    float* y = f32(env, a[1], n, "y");
    float* z = f32(env, a[2], n, "z");
    float* mean = f32(env, a[3], size_t(C), "mean");
    float* inv = f32(env, a[4], size_t(C), "inv");
    float* gamma = f32(env, a[5], size_t(C), "gamma");
    float* dz = f32(env, a[6], n, "dz");
    float* dGamma = f32(env, a[7], size_t(C), "dGamma");
    float* dBeta = f32(env, a[8], size_t(C), "dBeta");
    float* dRes = f32(env, a[9], n, "dResidual");
    if (!dy || !z || !mean || !inv || !gamma || !dz || !dGamma || !dBeta) throw JsError("bnBackward: missing argument");
    auto s = channelReduce(M, C, 2, [&](int64_t lo, int64_t hi, double* acc) {
      bnGradSums(dy + lo * C, y ? y + lo * C : nullptr, z + lo * C, mean, inv, dRes ? dRes + lo * C : nullptr, acc,
                 acc + C, hi - lo, C);
    });
    std::vector<float> k(static_cast<size_t>(C)), mB(static_cast<size_t>(C)), mG(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; c++) {
      dBeta[c] = float(s[size_t(c)]);
      dGamma[c] = float(s[size_t(C + c)]);
      k[size_t(c)] = gamma[c] * inv[c];
      mB[size_t(c)] = float(s[size_t(c)] / double(M));
      mG[size_t(c)] = float(s[size_t(C + c)] / double(M));
    }
    parallelRanges(M, [&](int64_t lo, int64_t hi) {
      bnGradInput(dy + lo * C, y ? y + lo * C : nullptr, z + lo * C, mean, inv, k.data(), mB.data(), mG.data(),
                  dz + lo * C, hi - lo, C);
    });
    return undefined(env);
  });
}

// ------------------------------------------------------------------------ matmul
// out[b] = act(op(a[b]) x op(b[b]) + bias) on oneDNN, op = transpose or not, batches broadcast
// where one side has 1. geom (Int32Array of 7): batchA, batchB, M, K, N, transA, transB.
struct MatMul {
  dnnl::matmul prim;
};
std::map<std::string, std::unique_ptr<MatMul>> matmulCache;

napi_value MatMulForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 6);
    auto g = ints(env, a[4], 7, "geom");
    const int64_t BA = g[0], BB = g[1], M = g[2], K = g[3], N = g[4];
    const bool tA = g[5] != 0, tB = g[6] != 0;
    if (BA != BB && BA != 1 && BB != 1) throw JsError("matMul: batch sizes must match or be 1");
    const int64_t B = std::max(BA, BB);
    float* pa = f32(env, a[0], size_t(BA * M * K), "a");
    float* pb = f32(env, a[1], size_t(BB * K * N), "b");
    float* bias = f32(env, a[2], size_t(N), "bias");
    float* out = f32(env, a[3], size_t(B * M * N), "out");
    const bool relu = boolean(env, a[5]);
    if (!pa || !pb || !out) throw JsError("matMul: a, b and out are required");
    // Logical [batch, rows, cols] with strides that read a transposed operand in place.
    memory::desc aMd({BA, M, K}, dt::f32, tA ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
    memory::desc bMd({BB, K, N}, dt::f32, tB ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
    memory::desc oMd({B, M, N}, dt::f32, memory::dims{M * N, N, 1});
    memory::desc biasMd({1, 1, N}, dt::f32, memory::dims{N, N, 1});
    auto& slot = matmulCache[key("matmul", g, (bias ? 1 : 0) | (relu ? 2 : 0))];
    if (!slot) {
      dnnl::matmul::desc d = bias ? dnnl::matmul::desc(aMd, bMd, biasMd, oMd) : dnnl::matmul::desc(aMd, bMd, oMd);
      dnnl::primitive_attr attr;
      if (relu) {
        dnnl::post_ops po;
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        attr.set_post_ops(po);
      }
      dnnl::matmul::primitive_desc pd(d, attr, eng());
      slot = std::make_unique<MatMul>(MatMul{dnnl::matmul(pd)});
      lastImpl = pd.impl_info_str();
    }
    std::unordered_map<int, memory> m{{DNNL_ARG_SRC, memory(aMd, eng(), pa)},
                                      {DNNL_ARG_WEIGHTS, memory(bMd, eng(), pb)},
                                      {DNNL_ARG_DST, memory(oMd, eng(), out)}};
    if (bias) m[DNNL_ARG_BIAS] = memory(biasMd, eng(), bias);
    slot->prim.execute(strm(), m);
    strm().wait();
    return undefined(env);
  });
}

// ------------------------------------------------------------------------ SGD
// One SGD step in PyTorch's order (torch.optim.SGD): d = g + wd * p; buf = first ? d : mu * buf + d;
// d = nesterov ? d + mu * buf : buf; p - lr * d. Writes pOut and bufOut (new tensors: tfjs tensors
// are immutable); bufIn null = the first step.
__attribute__((target_clones("avx512f", "avx2", "default"))) void sgdRange(
    const float* __restrict p, const float* __restrict g, const float* __restrict bufIn, float* __restrict pOut,
    float* __restrict bufOut, int64_t n, float lr, float mu, float wd, bool nesterov) {
  for (int64_t i = 0; i < n; i++) {
    const float d = wd != 0.f ? g[i] + wd * p[i] : g[i];
    const float b = bufIn ? mu * bufIn[i] + d : d;
    const float step = nesterov ? d + mu * b : b;
    bufOut[i] = b;
    pOut[i] = p[i] - lr * step;
  }
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void sgdPlainRange(
    const float* __restrict p, const float* __restrict g, float* __restrict pOut, int64_t n, float lr, float wd) {
  for (int64_t i = 0; i < n; i++) pOut[i] = p[i] - lr * (wd != 0.f ? g[i] + wd * p[i] : g[i]);
}

// sgdStep(items, lr, momentum, nesterov): items is an array of [p, g, bufIn | null, pOut, bufOut | null, wd].
// Every parameter of a model in one call.
napi_value SgdStep(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 4);
    double lr = 0, mu = 0;
    napi_get_value_double(env, a[1], &lr);
    napi_get_value_double(env, a[2], &mu);
    const bool nesterov = boolean(env, a[3]);
    uint32_t count = 0;
    bool isArr = false;
    napi_is_array(env, a[0], &isArr);
    if (!isArr) throw JsError("sgdStep: items must be an array");
    napi_get_array_length(env, a[0], &count);
    struct Item {
      const float *p, *g, *bufIn;
      float *pOut, *bufOut;
      int64_t n;
      float wd;
    };
    std::vector<Item> items;
    int64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
      napi_value it;
      napi_get_element(env, a[0], i, &it);
      napi_value f[6];
      for (uint32_t j = 0; j < 6; j++) napi_get_element(env, it, j, &f[j]);
      size_t len;
      napi_typedarray_type type;
      void* data;
      napi_value ab;
      size_t off;
      bool isTa = false;
      napi_is_typedarray(env, f[0], &isTa);
      if (!isTa) throw JsError("sgdStep: item " + std::to_string(i) + ": p must be a Float32Array");
      napi_get_typedarray_info(env, f[0], &type, &len, &data, &ab, &off);
      if (type != napi_float32_array) throw JsError("sgdStep: item " + std::to_string(i) + ": p must be a Float32Array");
      const std::string what = "sgdStep: item " + std::to_string(i);
      Item x;
      x.n = int64_t(len);
      x.p = static_cast<float*>(data);
      x.g = f32(env, f[1], len, (what + " g").c_str());
      x.bufIn = f32(env, f[2], len, (what + " bufIn").c_str());
      x.pOut = f32(env, f[3], len, (what + " pOut").c_str());
      x.bufOut = f32(env, f[4], len, (what + " bufOut").c_str());
      double wd = 0;
      napi_get_value_double(env, f[5], &wd);
      x.wd = float(wd);
      if (!x.g || !x.pOut) throw JsError(what + ": g and pOut are required");
      if (mu != 0 && !x.bufOut) throw JsError(what + ": bufOut is required with momentum");
      items.push_back(x);
      total += x.n;
    }
    // One parallel region over the concatenation of all parameters, split evenly by element.
    parallelRanges(total, [&](int64_t lo, int64_t hi) {
      int64_t base = 0;
      for (const Item& x : items) {
        const int64_t s = std::max(lo, base), e = std::min(hi, base + x.n);
        if (s < e) {
          const int64_t o = s - base;
          if (mu != 0) {
            sgdRange(x.p + o, x.g + o, x.bufIn ? x.bufIn + o : nullptr, x.pOut + o, x.bufOut + o, e - s, float(lr),
                     float(mu), x.wd, nesterov);
          } else {
            sgdPlainRange(x.p + o, x.g + o, x.pOut + o, e - s, float(lr), x.wd);
          }
        }
        base += x.n;
      }
    });
    return undefined(env);
  });
}

// info(): { threads, onednn, lastImpl }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value o, v;
  napi_create_object(env, &o);
#ifdef _OPENMP
  int threads = omp_get_max_threads();
#else
  int threads = 1;
#endif
  napi_create_int32(env, threads, &v);
  napi_set_named_property(env, o, "threads", v);
  const dnnl_version_t* ver = dnnl_version();
  std::string s = std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  napi_set_named_property(env, o, "onednn", v);
  napi_create_string_utf8(env, lastImpl.c_str(), lastImpl.size(), &v);
  napi_set_named_property(env, o, "lastImpl", v);
  return o;
}

// setThreads(n): OpenMP threads for every later call.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 1);
    int32_t n = 0;
    napi_get_value_int32(env, a[0], &n);
    if (n < 1) throw JsError("setThreads: need at least 1 thread");
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    return undefined(env);
  });
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackward", nullptr, ConvBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolForward", nullptr, MaxPoolForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, MaxPoolBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnForward", nullptr, BnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnBackward", nullptr, BnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matMul", nullptr, MatMulForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
