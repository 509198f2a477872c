{
  "targets": [
    {
      "target_name": "trickbench_native",
      "sources": ["src/addon.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fopenmp", "-fexceptions", "-ffp-contract=off"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
