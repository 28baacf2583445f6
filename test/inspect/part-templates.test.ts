// Part templates: the parts of a page's last clean forms (and queries) by place, compared at their place first.
import t from 'tap';
import { learnPart, templateFor, templateName, TEMPLATE_PARTS, type PartTemplates } from '../../src/inspect/part-templates.ts';

t.test('a part is known at its place only when it is the same text there', async (t) => {
  const all: PartTemplates = new Map();
  const tpl = templateFor(all, '/form');
  t.equal(templateFor(all, '/form'), tpl, 'one template per path');
  learnPart(tpl, 0, 'a=1', 'a');
  learnPart(tpl, 1, 'f%37=x+y', 'f7');
  const body = 'a=1&f%37=x+y&c=3';
  t.equal(templateName(tpl, 0, body, 0, 3), 'a');
  t.equal(templateName(tpl, 1, body, 4, 12), 'f7', 'its decoded name, as learnt');
  t.equal(templateName(tpl, 0, body, 4, 12), null, 'another place');
  t.equal(templateName(tpl, 2, body, 13, 16), null, 'a place the template has not learnt');
  t.equal(templateName(tpl, 0, 'a=2', 0, 3), null, 'same length, other text');
  t.equal(templateName(tpl, 0, 'a=12', 0, 4), null, 'longer');
  t.equal(templateName(tpl, 0, 'xa=1', 1, 4), 'a', 'compared where the part lies in its text');
});

t.test('places past the last are filled in order; a gap stays empty; past TEMPLATE_PARTS nothing is learnt', async (t) => {
  const tpl = templateFor(new Map(), '/');
  learnPart(tpl, 2, 'c=3', 'c');
  t.same([tpl.raw.length, templateName(tpl, 0, '', 0, 0), templateName(tpl, 2, 'c=3', 0, 3)], [3, null, 'c'], 'places 0 and 1 empty (an empty text is not a part)');
  learnPart(tpl, TEMPLATE_PARTS, 'z=1', 'z');
  t.equal(tpl.raw.length, 3);
  learnPart(tpl, 2, 'c=4', 'c');
  t.same([templateName(tpl, 2, 'c=3', 0, 3), templateName(tpl, 2, 'c=4', 0, 3)], [null, 'c'], 'a place learnt again holds the new part');
});

t.test('a part cut out of a long text is kept as its own text; paths are bounded', async (t) => {
  const all: PartTemplates = new Map();
  const body = 'x'.repeat(5000) + '&field=' + 'v'.repeat(40);
  const tpl = templateFor(all, '/big');
  learnPart(tpl, 1, body.slice(5001), 'field');
  t.equal(tpl.raw[1], 'field=' + 'v'.repeat(40));
  for (let i = 0; i < 1000; i++) templateFor(all, `/p${i}`);
  t.ok(all.size <= 128, `at most 128 paths (${all.size})`);
});
