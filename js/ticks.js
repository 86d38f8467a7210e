// Ticks and numbers as a person reads them, shared by the board's and the
// comparison's modules (the package inlines this file into each: anywidget loads
// a module alone, from one string).

/** How many ticks an axis `pixels` long has room for, one per `spacing` px: 2 to 8. */
export function tickCount(pixels, spacing) {
  return Math.max(2, Math.min(8, Math.floor(pixels / spacing)));
}

/** About `count` tick values within [low, high], a step of 1, 2 or 5 times a
 *  power of ten apart: 0, 5k, 10k, 15k rather than bqplot's even split of the range. */
export function niceTicks(low, high, count) {
  if (!Number.isFinite(low) || !Number.isFinite(high) || count < 1) return [];
  if (low > high) [low, high] = [high, low];
  if (low === high) return [low];
  const rough = (high - low) / count;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  // The round step nearest the rough one (on a log scale): about `count` ticks.
  const ratio = rough / power;
  const step = power * (ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.sqrt(2) ? 2 : 1);
  const ticks = [];
  for (let k = Math.ceil(low / step); k <= Math.floor(high / step); k++) ticks.push(+(k * step).toPrecision(12));
  return ticks;
}

/** Round durations in seconds a time axis steps by: 1 s to 30 s, 1 min to 30 min,
 *  1 h to 12 h, then days. */
const DURATIONS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200];

/** About `count` ticks within [low, high] seconds, a round duration apart (1:30, 1:45,
 *  2:00 rather than 90, 105, 120); under a second apart, niceTicks' steps. */
export function durationTicks(low, high, count) {
  if (!Number.isFinite(low) || !Number.isFinite(high) || count < 1) return [];
  if (low > high) [low, high] = [high, low];
  if (low === high) return [low];
  const rough = (high - low) / count;
  if (rough < 1) return niceTicks(low, high, count);
  const step = DURATIONS.find((d) => d >= rough * 0.75) || 86400 * Math.max(1, Math.round(rough / 86400));
  const ticks = [];
  for (let k = Math.ceil(low / step); k <= Math.floor(high / step); k++) ticks.push(k * step);
  return ticks;
}

/** A duration in seconds as a clock reads it: 0:05, 12:30, 1:02:03, 2d 3:00:00; a
 *  tenth of a second shown where `step` (the ticks' spacing) is under a second. */
export function formatDuration(seconds, step = 1) {
  if (!Number.isFinite(seconds)) return String(seconds);
  const sign = seconds < 0 ? "-" : "";
  let rest = Math.abs(seconds);
  const digits = step < 1 ? Math.min(3, Math.ceil(-Math.log10(step) - 1e-9)) : 0;
  rest = +rest.toFixed(digits);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  const two = (n) => String(n).padStart(2, "0");
  const secs = digits ? rest.toFixed(digits).padStart(3 + digits, "0") : two(Math.round(rest));
  const clock = hours || days ? `${hours}:${two(minutes)}:${secs}` : `${minutes}:${secs}`;
  return sign + (days ? `${days}d ${clock}` : clock);
}

/** The d3 format of an axis's tick labels over [low, high]: SI suffixes from 1,000 on
 *  (5.8k, 1.2M, where ".3~g" writes 5.8e+3), else three significant digits. */
export function tickFormat(low, high) {
  return Math.max(Math.abs(low), Math.abs(high)) >= 1000 ? ".3~s" : ".3~g";
}

/** A number as a person reads it: 12,345 / 0.03125 / 1.235e-7. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e9)) return value.toExponential(3);
  return String(+value.toPrecision(5));
}


const PREFIXES = ["", "k", "M", "G", "T", "P"];

/** A tick label as bqplot's axes write them (see tickFormat): SI suffixes from
 *  1,000 on (5.8k, 1.2M), else up to three significant digits (0.35, 1e-5). */
export function formatTick(value, low = value, high = value) {
  if (!Number.isFinite(value)) return String(value);
  const trim = (text) => String(+text);
  if (Math.max(Math.abs(low), Math.abs(high)) >= 1000) {
    const power = value === 0 ? 0 : Math.min(PREFIXES.length - 1, Math.floor(Math.log10(Math.abs(value)) / 3));
    return trim((value / Math.pow(1000, Math.max(0, power))).toPrecision(3)) + PREFIXES[Math.max(0, power)];
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && magnitude < 1e-3) return value.toExponential(1).replace(".0e", "e");
  return trim(value.toPrecision(3));
}

/** Ticks of a log axis over positive [low, high]: the powers of ten inside it, with
 *  2 and 5 times them while fewer than `count` would show, or the ends alone. */
export function logTicks(low, high, count) {
  if (!(low > 0 && high > 0)) return [];
  if (low > high) [low, high] = [high, low];
  if (low === high) return [low];
  const within = (steps) => {
    const ticks = [];
    for (let p = Math.floor(Math.log10(low)); p <= Math.ceil(Math.log10(high)); p++) {
      for (const m of steps) {
        const tick = +(m * Math.pow(10, p)).toPrecision(12);
        if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9)) ticks.push(tick);
      }
    }
    return ticks;
  };
  const decades = within([1]);
  if (decades.length >= Math.min(count, 3)) return decades.length > count ? decades.filter((_, i) => i % Math.ceil(decades.length / count) === 0) : decades;
  const denser = within([1, 2, 5]);
  return denser.length >= 2 ? denser.slice(0, Math.max(count, 2)) : [low, high];
}
