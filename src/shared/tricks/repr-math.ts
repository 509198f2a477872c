// The linear algebra of RePr (Prakash et al., CVPR 2019), in float64 on plain arrays: filters are
// few (tens to hundreds per layer) and short (C * k * k), so this is cheap next to a training step.
//
// A conv kernel is tfjs' [kh, kw, cin, cout]; filter f is kernel[:, :, :, f] flattened (length
// D = kh * kw * cin, in kernel order).

/** The filters of a conv kernel as rows: J = cout rows of length D. */
export function filterRows(kernel: ArrayLike<number>, shape: readonly number[]): Float64Array[] {
  const J = shape[3]!;
  const D = kernel.length / J;
  const rows = Array.from({ length: J }, () => new Float64Array(D));
  for (let i = 0; i < D; i++) for (let f = 0; f < J; f++) rows[f]![i] = kernel[i * J + f]!;
  return rows;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * Inter-filter orthogonality scores: rows normalised to unit L2 norm (a zero row stays zero) -> W;
 * P = |W W^T - I|; O_f = sum_j P[f, j] / J. Higher = less orthogonal to the rest of the layer.
 */
export function orthogonalityScores(rows: readonly Float64Array[]): Float64Array {
  const J = rows.length;
  const unit = rows.map((r) => {
    const n = Math.sqrt(dot(r, r));
    return n > 0 ? r.map((v) => v / n) : new Float64Array(r.length);
  });
  const out = new Float64Array(J);
  for (let f = 0; f < J; f++) {
    let s = 0;
    for (let j = 0; j < J; j++) s += Math.abs(dot(unit[f]!, unit[j]!) - (f === j ? 1 : 0));
    out[f] = s / J;
  }
  return out;
}

export interface LayerScores {
  layer: string;
  scores: Float64Array;
}

/**
 * The filters to prune: the top `ratio` fraction (floor of ratio * filters) by score, over all
 * layers together ('global') or within each layer ('layer'); equal scores go to the lower layer and
 * filter index first. A layer always keeps at least one filter.
 */
export function selectPruned(layers: readonly LayerScores[], ratio: number, scope: 'global' | 'layer'): Map<string, number[]> {
  const out = new Map<string, number[]>(layers.map((l) => [l.layer, []]));
  const take = (cands: { layer: number; f: number; s: number }[], n: number) => {
    cands.sort((a, b) => b.s - a.s || a.layer - b.layer || a.f - b.f);
    let done = 0;
    for (const c of cands) {
      if (done >= n) break;
      const l = layers[c.layer]!;
      const list = out.get(l.layer)!;
      if (list.length >= l.scores.length - 1) continue; // never the whole layer
      list.push(c.f);
      done++;
    }
  };
  const all = layers.flatMap((l, li) => Array.from(l.scores, (s, f) => ({ layer: li, f, s })));
  if (scope === 'global') take(all, Math.floor(ratio * all.length));
  else layers.forEach((l, li) => take(all.filter((c) => c.layer === li), Math.floor(ratio * l.scores.length)));
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** Orthonormal basis of the span of `rows` by modified Gram-Schmidt, twice (stable enough for
 * our sizes); rows that add nothing new (relative norm below tol) are dropped. */
export function orthonormalBasis(rows: readonly Float64Array[], tol = 1e-10): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const r of rows) {
    const v = Float64Array.from(r);
    const n0 = Math.sqrt(dot(v, v));
    if (n0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot(v, q);
        for (let i = 0; i < v.length; i++) v[i]! -= c * q[i]!;
      }
    }
    const n = Math.sqrt(dot(v, v));
    if (n > tol * n0) basis.push(v.map((x) => x / n));
  }
  return basis;
}

/**
 * `count` random unit vectors of length D, orthogonal to every row of `against` and to each other
 * (random vectors in the null space of the stacked matrix: its rows' orthonormal basis, i.e. the
 * Q of a QR of its transpose, projected out). Returns fewer when the null space is exhausted.
 */
export function nullSpaceVectors(against: readonly Float64Array[], count: number, D: number, normal: () => number): Float64Array[] {
  const basis = orthonormalBasis(against);
  const out: Float64Array[] = [];
  for (let k = 0; k < count && basis.length < D; k++) {
    const r = Float64Array.from({ length: D }, normal);
    // Project r out of the current basis (the rows' and the vectors made so far), twice.
    const v = Float64Array.from(r);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot(v, q);
        for (let i = 0; i < D; i++) v[i]! -= c * q[i]!;
      }
    }
    const n = Math.sqrt(dot(v, v));
    if (n <= 1e-8 * Math.sqrt(dot(r, r))) break; // numerically no room left
    const u = v.map((x) => x / n);
    basis.push(u);
    out.push(u);
  }
  return out;
}
