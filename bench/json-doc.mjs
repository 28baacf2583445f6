// The ~1 MiB JSON documents the benches post (inspection.bench.mjs, head-of-line.bench.mjs).
/**
 * ~1 MiB JSON API import: an array of small objects (short strings, numbers). `seed` makes every document different
 * (ids, SKUs, e-mails) like real imports; names, colours and tags repeat between documents. `long` gives each object a
 * ~1.9 KB description instead, so the document has fewer leaves than Bulwark's argument limit.
 */
export function jsonDoc(seed, long = false) {
  const colours = ['red', 'blue', 'green', 'black', 'white', 'grey', 'navy', 'olive'];
  const words = 'soft cotton shirt with a relaxed fit and two pockets made for warm summer days in the city'.split(' ');
  const items = [];
  let size = 0;
  for (let i = 0; size < 1024 * 1024 - 200; i++) {
    const item = { id: seed * 100000 + i, sku: `SKU-${seed}-${10000 + i}`, name: `Shirt ${i % 500}`, colour: colours[i % 8], size: 36 + (i % 10), price: Number(((i % 997) * 0.37 + 5).toFixed(2)), stock: (i * 7) % 130, email: `buyer${seed}x${i}@example.com` };
    if (long) item.description = Array.from({ length: 360 }, (_, k) => words[(i + k) % words.length]).join(' ');
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return JSON.stringify({ batch: seed, items });
}
export function countLeaves(v) {
  return v !== null && typeof v === 'object' ? Object.values(v).reduce((n, x) => n + countLeaves(x), 0) : 1;
}
