#!/usr/bin/env bash
# bench/gpu-check.sh DIR OUT: the WebGPU check for a machine with a GPU and no Node (the lent H200).
# DIR is the folder `npm run gpu-bundle` wrote (gpu-bundle/); OUT receives gpu-check.log, the JSON
# of each part and gpu-check.json (the summary). In under 8 minutes (GPU_CHECK_BUDGET_S, default
# 470 s) it:
#   1. unpacks DIR into /tmp (Node and dawn.node are xz-compressed in it);
#   2. prints `nvidia-smi -L`, the Vulkan ICD and EGL vendor files it finds, and brings the Vulkan
#      loader from DIR/debs where the machine has none (saying so), setting VK_DRIVER_FILES (and
#      __EGL_VENDOR_LIBRARY_FILENAMES) to NVIDIA's files where no ICD is in the usual places;
#   3. lists Dawn's adapters; with no hardware adapter it says so, runs the PyTorch-CUDA side alone
#      (so the time is not wasted) and exits 3;
#   4. runs ours (webgpu) and PyTorch on CUDA (FP32 without TF32, and PyTorch's defaults) side by
#      side for cnn3, resnet20 and resnet18 at batch 128 (npm run bench's trainer suite), then, time
#      permitting, our convolution gradient kernels against tfjs-webgpu's (the kernels suite);
#   5. checks one training step of cnn3 and resnet20 on the GPU against the cpu backend (the
#      reference is computed in the background from the start: tfjs' JavaScript kernels are slow):
#      the loss within 1e-4 relative, every gradient and update within 1e-3 relative L2.
# Exit 0 when all of that passed; 1 when a check failed or a part did not finish; 3: no hardware
# adapter. GPU_CHECK_ALLOW_SOFTWARE=1 (for testing without a GPU) accepts the software adapter and
# runs PyTorch on the CPU, with few steps. GPU_CHECK_STEPS/REPS/WARMUP override the bench's counts.
set -u -o pipefail

if [ $# -ne 2 ]; then
  echo "usage: bash bench/gpu-check.sh BUNDLE_DIR OUT_DIR" >&2
  exit 2
fi
SRC=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" && OUT=$(cd "$2" && pwd) || exit 2
LOG="$OUT/gpu-check.log"
exec > >(tee "$LOG") 2>&1

SOFT=${GPU_CHECK_ALLOW_SOFTWARE:-0}
T0=$(date +%s)
if [ "$SOFT" = 1 ]; then BUDGET=${GPU_CHECK_BUDGET_S:-1800}; else BUDGET=${GPU_CHECK_BUDGET_S:-470}; fi
left() { echo $((BUDGET - ($(date +%s) - T0))); }
say() { echo "== [$(($(date +%s) - T0)) s] $*"; }
# Seconds for a part: what it asks, but never past the budget (minus what later parts need).
slot() { local want=$1 reserve=${2:-0} l; l=$(($(left) - reserve)); [ "$l" -lt "$want" ] && want=$l; [ "$want" -lt 5 ] && want=5; echo "$want"; }

say "gpu-check: bundle $SRC, output $OUT, budget ${BUDGET} s$([ "$SOFT" = 1 ] && echo ', GPU_CHECK_ALLOW_SOFTWARE=1: a software adapter and PyTorch on the CPU will do')"

# ---------------------------------------------------------------- 1. unpack
W=/tmp/trickbench-gpu-check
rm -rf "$W" && mkdir -p "$W" && cp -a "$SRC"/. "$W"/ || { echo "cannot copy $SRC to $W"; exit 1; }
unxz_to() { # FILE.xz -> FILE, with xz or else Python's lzma
  if command -v xz >/dev/null; then xz -d -f "$1"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[1][:-3], "wb"))' "$1" && rm -f "$1"; fi
}
for f in "$W/node.xz" "$W/node_modules/webgpu/dist/linux-x64/dawn.node.xz"; do
  [ -f "$f" ] && { unxz_to "$f" || { echo "cannot unpack $f"; exit 1; }; }
done
chmod +x "$W/node"
NODE="$W/node"
say "unpacked into $W: node $("$NODE" --version) ($(du -sh "$W" | cut -f1))"
cd "$W" || exit 1

# The cpu-backend reference for the step check, in the background from now on (minutes).
# Batch 8 for cnn3, 4 for resnet20 (the cpu backend's Conv2DBackpropFilter: ~20 s an image).
for m in cnn3 resnet20; do
  "$NODE" bench/gpu-check.mjs ref --backend cpu --batch "$([ $m = cnn3 ] && echo 8 || echo 4)" --models "$m" --out "$W/ref-$m.json" > "$W/ref-$m.log" 2>&1 &
  eval "REF_PID_$m=$!"
done

# ---------------------------------------------------------------- 2. GPU, Vulkan, EGL
say "nvidia-smi -L"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L || true; else echo "nvidia-smi: not found"; fi

ICD_DIRS="/etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/etc/vulkan/icd.d"
EGL_DIRS="/etc/glvnd/egl_vendor.d /usr/share/glvnd/egl_vendor.d"
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
NV_EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
say "Vulkan ICD files"
found_icd=0
for d in $ICD_DIRS /usr/local/nvidia/share/vulkan/icd.d; do
  for f in "$d"/*.json; do
    [ -f "$f" ] || continue
    echo "$f: $(tr -d '\n ' < "$f" | grep -o '"library_path":"[^"]*"' | head -1)"
    case "$d" in /usr/local/nvidia/*) ;; *) found_icd=1 ;; esac
  done
done
echo "EGL vendor files: $(ls $EGL_DIRS /usr/local/nvidia/share/glvnd/egl_vendor.d 2>/dev/null | grep json | tr '\n' ' ')"
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ "$found_icd" = 0 ] && [ -f "$NV_ICD" ]; then
  export VK_DRIVER_FILES=$NV_ICD VK_ICD_FILENAMES=$NV_ICD
  [ -f "$NV_EGL" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$NV_EGL
  echo "no ICD in the usual folders: VK_DRIVER_FILES=$VK_DRIVER_FILES${__EGL_VENDOR_LIBRARY_FILENAMES:+ __EGL_VENDOR_LIBRARY_FILENAMES=$__EGL_VENDOR_LIBRARY_FILENAMES}"
elif [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} (as given)"
fi

has_loader() { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1; }
# The .debs into / (as root, with dpkg): the way known to work on the lent machine.
debs_to_root() {
  echo "bringing the Vulkan loader and GLVND from the bundle's .debs: dpkg -x into /, then ldconfig"
  for f in "$W"/debs/*.deb; do dpkg -x "$f" / || return 1; done
  ldconfig
}
# Else into a folder of our own, on LD_LIBRARY_PATH (no root, no dpkg needed).
debs_to_prefix() {
  echo "bringing the Vulkan loader and GLVND from the bundle's .debs into $W/sysroot (LD_LIBRARY_PATH)"
  mkdir -p "$W/sysroot"
  for f in "$W"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$f" "$W/sysroot" || return 1
    else
      python3 - "$f" "$W/sysroot" <<'PY' || return 1
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not a .deb"
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
    fi
  done
  export LD_LIBRARY_PATH="$W/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}
LOADER_FROM=system
if has_loader; then
  echo "Vulkan loader: $(ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1 ' | head -1 | sed 's/.*=> //') (the machine's)"
elif [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null && [ "$SOFT" != 1 ]; then
  debs_to_root && LOADER_FROM=debs-root || { echo "dpkg -x failed"; debs_to_prefix; LOADER_FROM=debs-prefix; }
else
  debs_to_prefix && LOADER_FROM=debs-prefix
fi

# ---------------------------------------------------------------- 3. adapters
list_adapters() {
  say "Dawn's adapters"
  timeout -k 5 "$(slot 90)" "$NODE" bench/gpu-check.mjs adapters 2>&1 | grep -v '^Warning: max' | tee "$W/adapters.out"
  tail -1 "$W/adapters.out" > "$OUT/adapters.json"
  grep -q '"hardware":true' "$OUT/adapters.json"
}
HARDWARE=0
if list_adapters; then HARDWARE=1
elif [ "$LOADER_FROM" = debs-prefix ] && [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null && [ "$SOFT" != 1 ]; then
  echo "no hardware adapter with the loader on LD_LIBRARY_PATH: trying the .debs in / instead"
  debs_to_root && LOADER_FROM=debs-root && list_adapters && HARDWARE=1
fi

summary() { # ok, reason
  "$NODE" -e '
    const fs = require("fs"); const [out, ok, reason, hw, loader, t] = process.argv.slice(1);
    const read = (f) => { try { return JSON.parse(fs.readFileSync(out + "/" + f, "utf8")); } catch { return null; } };
    const s = { ok: ok === "1", reason, hardware: hw === "1", vulkanLoader: loader, seconds: Number(t),
      adapters: read("adapters.json"), step: read("step.json"), bench: read("bench.json"), torchCudaOnly: read("torch-cuda.json") };
    fs.writeFileSync(out + "/gpu-check.json", JSON.stringify(s, null, 1) + "\n");' "$OUT" "$1" "$2" "$HARDWARE" "$LOADER_FROM" "$(($(date +%s) - T0))"
  say "gpu-check: $2; log and JSON in $OUT"
}

CASES="cnn3 32x32x3 b128,resnet20 32x32x3 b128,resnet18 32x32x3 b128"
if [ "$HARDWARE" = 0 ] && [ "$SOFT" != 1 ]; then
  echo
  echo "!! NO HARDWARE WEBGPU ADAPTER: Dawn found no GPU through Vulkan (see the lines above)."
  echo "!! The webgpu backend cannot be measured here. PyTorch on CUDA alone, for the record:"
  kill $REF_PID_cnn3 $REF_PID_resnet20 2>/dev/null
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    {
      for c in "cnn3|{\"name\":\"cnn3\",\"width\":32}" "resnet20|{\"name\":\"resnet20\"}" "resnet18|{\"name\":\"resnet18\"}"; do
        for p in fp32 default; do
          echo "{\"case\":{\"name\":\"${c%%|*} 32x32x3 b128\",\"model\":${c#*|},\"shape\":[32,32,3],\"batch\":128},\"precision\":\"$p\",\"steps\":20,\"warmup\":5}"
        done
      done
    } | timeout -k 5 "$(slot 120)" python3 bench/torch_reference.py --device cuda | tee "$W/torch-cuda.out"
    python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; json.dump({"hello": l[0], "cases": [dict(r, case=c, precision=p) for r,(c,p) in zip(l[1:], [(c,p) for c in ("cnn3","resnet20","resnet18") for p in ("fp32","default")])]}, open(sys.argv[2],"w"))' "$W/torch-cuda.out" "$OUT/torch-cuda.json" || true
  else
    echo "(python3 with CUDA torch not found)"
  fi
  summary 0 "no hardware WebGPU adapter"
  exit 3
fi

# ---------------------------------------------------------------- 4. ours vs PyTorch-CUDA
if [ "$SOFT" = 1 ]; then
  TORCH_DEVICE=cpu; STEPS=${GPU_CHECK_STEPS:-1}; REPS=${GPU_CHECK_REPS:-1}; WARM=${GPU_CHECK_WARMUP:-0}
  python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && TORCH_DEVICE=cuda
else
  TORCH_DEVICE=cuda; STEPS=${GPU_CHECK_STEPS:-10}; REPS=${GPU_CHECK_REPS:-5}; WARM=${GPU_CHECK_WARMUP:-3}
fi
say "bench: ours (webgpu) vs PyTorch on $TORCH_DEVICE; $REPS reps x $STEPS steps after $WARM warm-up"
# Leave 90 s for the step check after it.
timeout -k 10 "$(slot 330 90)" "$NODE" bench/bench.mjs --suite trainer --backend webgpu --case "$CASES" \
  --torch-device "$TORCH_DEVICE" --peak-tflops "${GPU_CHECK_PEAK_TFLOPS:-67}" --steps "$STEPS" --reps "$REPS" --warmup "$WARM" 2>&1 \
  | grep -v '^Warning: max' | tee "$W/bench.out"
BENCH_RC=${PIPESTATUS[0]}
tail -1 "$W/bench.out" | grep '^{' > "$OUT/bench.json" || { rm -f "$OUT/bench.json"; echo "bench: no JSON (exit $BENCH_RC)"; }

# Our convolution gradient kernels against the tfjs-webgpu ones they replaced (seconds on a GPU; in
# the log only): whether ours pay their way on this GPU.
if [ "$(left)" -gt 150 ]; then
  say "kernels: ours vs tfjs-webgpu's"
  timeout -k 5 "$(slot 45 100)" "$NODE" bench/bench.mjs --suite kernels --backend webgpu --reps "$REPS" 2>&1 | grep -v '^Warning: max\|^===\|^Hi, looks\|^$'
fi

# ---------------------------------------------------------------- 5. one step vs the cpu backend
say "step check: waiting for the cpu-backend reference"
for m in cnn3 resnet20; do
  pid=$(eval echo "\$REF_PID_$m")
  w=$(slot 400 20)
  while kill -0 "$pid" 2>/dev/null && [ "$w" -gt 0 ]; do sleep 1; w=$((w - 1)); done
  if kill -0 "$pid" 2>/dev/null; then echo "reference for $m not done in time: stopped"; kill "$pid"; fi
  wait "$pid" 2>/dev/null
  grep -v '^Warning: max\|^===\|^Hi, looks\|^$' "$W/ref-$m.log"
done
REFS=$(ls "$W"/ref-cnn3.json "$W"/ref-resnet20.json 2>/dev/null | paste -sd, -)
STEP_RC=1
if [ -n "$REFS" ]; then
  say "step check on the webgpu backend"
  timeout -k 5 "$(slot 120)" "$NODE" bench/gpu-check.mjs step --ref "$REFS" 2>&1 | grep -v '^Warning: max\|^===\|^Hi, looks\|^$' | tee "$W/step.out"
  STEP_RC=${PIPESTATUS[0]}
  tail -1 "$W/step.out" | grep '^{' > "$OUT/step.json" || rm -f "$OUT/step.json"
else
  echo "step check: no reference"
fi

OK=1; REASON="passed"
[ "$STEP_RC" = 0 ] || { OK=0; REASON="step check failed (exit $STEP_RC)"; }
[ -s "$OUT/bench.json" ] && [ "$BENCH_RC" = 0 ] || { OK=0; REASON="${REASON/passed/}${REASON:+; }bench failed (exit $BENCH_RC)"; REASON=${REASON#; }; }
if [ -s "$OUT/bench.json" ] && grep -q '"error"' "$OUT/bench.json"; then OK=0; REASON="${REASON/passed/}; a bench case failed"; REASON=${REASON#; }; fi
[ "$HARDWARE" = 1 ] || REASON="$REASON (software adapter: GPU_CHECK_ALLOW_SOFTWARE=1)"
summary "$OK" "$REASON"
[ "$OK" = 1 ] && exit 0 || exit 1
