// Part templates: the parts of a page's last clean forms (and queries) by place, compared at their place first.
import t from 'tap';
import { emptyTemplate, learnPart, templateName, TEMPLATE_PARTS } from '../../src/inspect/part-templates.ts';

t.test('a part is known at its place only when it is the same text there', async (t) => {
  const tpl = emptyTemplate();
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
  const tpl = emptyTemplate();
  learnPart(tpl, 2, 'c=3', 'c');
  t.same([tpl.raw.length, templateName(tpl, 0, '', 0, 0), templateName(tpl, 2, 'c=3', 0, 3)], [3, null, 'c'], 'places 0 and 1 empty (an empty text is not a part)');
  learnPart(tpl, TEMPLATE_PARTS, 'z=1', 'z');
  t.equal(tpl.raw.length, 3);
  learnPart(tpl, 2, 'c=4', 'c');
  t.same([templateName(tpl, 2, 'c=3', 0, 3), templateName(tpl, 2, 'c=4', 0, 3)], [null, 'c'], 'a place learnt again holds the new part');
});

t.test('a part cut out of a long text is kept as its own text', async (t) => {
  const body = 'x'.repeat(5000) + '&field=' + 'v'.repeat(40);
  const tpl = emptyTemplate();
  learnPart(tpl, 1, body.slice(5001), 'field');
  t.equal(tpl.raw[1], 'field=' + 'v'.repeat(40));
});
