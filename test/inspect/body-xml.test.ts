// XML bodies: values by element path, attributes, entities never expanded, malformed XML is a finding.
import t from 'tap';
import { buildRequestView, type RequestView } from '../../src/inspect/request-view.ts';
import { readXml } from '../../src/inspect/body/xml.ts';

function view(body: string, ct = 'application/xml'): RequestView {
  return buildRequestView({ method: 'POST', url: '/soap', httpVersion: '1.1', headers: [['content-type', ct]], body: Buffer.from(body) });
}
const values = (v: RequestView, name: string) => v.targets.filter((x) => x.name === name).map((x) => x.value);
const codes = (v: RequestView) => [...new Set(v.findings.map((f) => f.code))].sort();

t.test('text, CDATA and attributes by path', async (t) => {
  const v = view(`<?xml version="1.0"?>\n<order id="7" note='a &amp; b'><!-- c --><item sku="x&lt;1">Book &#60;b&#x3e;</item><item><![CDATA[<script>alert(1)</script>]]></item><empty/></order>`);
  t.same(values(v, 'xml:order@id'), ['7']);
  t.same(values(v, 'xml:order@note'), ['a & b']);
  t.same(values(v, 'xml:order.item@sku'), ['x<1']);
  t.same(values(v, 'xml:order.item'), ['Book <b>', '<script>alert(1)</script>']);
  t.same(values(v, 'args:order.item'), ['Book <b>', '<script>alert(1)</script>', 'Book <b>,<script>alert(1)</script>']);
  t.same(v.targets.filter((x) => x.collection === 'args_names').map((x) => x.value), ['order', 'id', 'note', 'item', 'sku', 'item', 'empty']);
  t.same(v.findings, []);
});

t.test('DOCTYPE and ENTITY are findings; entities are not expanded', async (t) => {
  const xxe = `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd"> <!ENTITY a "]>">]><foo>&xxe;</foo>`;
  const v = view(xxe);
  t.same(codes(v), ['xml_doctype']);
  t.same(values(v, 'xml:foo'), ['&xxe;'], 'the reference stays as written');
  const bomb = `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;&c;&c;</l>`;
  const b = view(bomb, 'text/xml');
  t.same(codes(b), ['xml_doctype']);
  t.same(values(b, 'xml:l'), ['&c;&c;&c;']);
});

t.test('malformed XML becomes xml_invalid, never a throw', async (t) => {
  const bad = ['<a><b></a>', '<a>', '<a x=1></a>', '<a x="1></a>', 'text<a/>', '<a/><b/>', '<!-- x', '<a><![CDATA[x</a>', '', '<', '<a x="1"y="2"/>'];
  for (const s of bad) {
    const v = view(s || ' ');
    t.ok(codes(v).includes('xml_invalid'), JSON.stringify(s));
  }
});

t.test('depth is capped but deep values are still read', async (t) => {
  const deep = '<a>'.repeat(100) + 'payload' + '</a>'.repeat(100);
  const seen: string[] = [];
  const r = readXml(deep, 10, { value: (_p, v) => (seen.push(v), true), name: () => {} });
  t.equal(r.tooDeep, true);
  t.equal(r.invalid, undefined);
  t.same(seen, ['payload']);
});

t.test('xml sink can stop reading', async (t) => {
  const r = readXml('<r>' + '<i>x</i>'.repeat(100) + '</r>', 10, { value: () => false, name: () => {} });
  t.equal(r.stopped, true);
});
