import { escapeHtml, formatDuration, formatNumber, htmlTable } from '../../../trainer/src/evaluate/html';

test('escapeHtml neutralises markup and attribute quotes', () => {
  expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
});

test('htmlTable escapes headers and cells and omits the header row when there are no headers', () => {
  const html = htmlTable(['<th>'], [['<b>'], { cells: ['x'], className: 'best' }]);
  expect(html).toContain('<th>&lt;th&gt;</th>');
  expect(html).toContain('<td>&lt;b&gt;</td>');
  expect(html).toContain('<tr class="best"><td>x</td></tr>');
  expect(htmlTable([], [['a']])).not.toContain('<thead>');
});

test.each([
  [0.123456, undefined, '0.1235'],
  [42, undefined, '42'],
  [0.0001, undefined, '1.00e-4'],
  [312.46, 1, '312.5'],
  [NaN, undefined, 'NaN'],
  [-Infinity, undefined, '-inf'],
])('formatNumber(%p, %p) is %p', (value, decimals, text) => {
  expect(formatNumber(value, decimals)).toBe(text);
});

test.each([
  [12.34, '12.3 s'],
  [185, '3 min 05 s'],
  [3725, '1 h 02 min'],
  [NaN, 'unknown'],
])('formatDuration(%p) is %p', (seconds, text) => {
  expect(formatDuration(seconds)).toBe(text);
});
