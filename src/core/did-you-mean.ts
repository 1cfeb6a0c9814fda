// "did you mean …?" for unknown names (commands, template types, variables, setting keys).

export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest known name within a small edit distance, or undefined. */
export function closest(name: string, known: readonly string[], maxDistance = Math.max(2, Math.floor(name.length / 3))): string | undefined {
  const lower = name.toLowerCase();
  // A truncated name (frequency_cap → frequency_cap_days) is a likelier mistake than any typo.
  if (lower.length >= 4) {
    const prefixed = known.find((k) => k.toLowerCase().startsWith(lower));
    if (prefixed) return prefixed;
  }
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= maxDistance ? best : undefined;
}
