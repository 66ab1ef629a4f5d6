/* report_assets.h — the style and the script of the report page, inlined
 * into every page (the page must work offline: no CDN, no fetch).
 *
 * The script reads its data from <script type="application/json"
 * id="saex-data">, sorts and filters the tables, and draws token text shaded
 * by a feature's activation. It only ever sets textContent (never
 * innerHTML), so prompts and token pieces cannot inject markup. Errors are
 * written into #js-errors (which the browser test reads back), and
 * body[data-ready] is set when everything is drawn. */
#ifndef SAEX_ANALYSIS_REPORT_ASSETS_H
#define SAEX_ANALYSIS_REPORT_ASSETS_H

static const char REPORT_CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d1d1f;background:#fafafa}\n"
    "header{background:#16324f;color:#fff;padding:14px 24px}header h1{margin:0 0 4px;font-size:20px}\n"
    "header p{margin:0;opacity:.85}main{padding:8px 24px 40px;max-width:1400px}\n"
    "nav{padding:8px 24px;background:#e8eef5;position:sticky;top:0;z-index:2}nav a{margin-right:14px}\n"
    "h2{border-bottom:2px solid #16324f;padding-bottom:3px;margin-top:28px}h3{margin:22px 0 8px}\n"
    "table{border-collapse:collapse;background:#fff;margin:4px 0 12px;font-variant-numeric:tabular-nums}\n"
    "th,td{border:1px solid #d5dbe3;padding:3px 7px;text-align:right;vertical-align:top}\n"
    "th{background:#eef2f7;cursor:pointer;user-select:none;white-space:nowrap}\n"
    "th[data-sort=asc]::after{content:' \\25B2'}th[data-sort=desc]::after{content:' \\25BC'}\n"
    "td.l,th.l{text-align:left}td.snip{max-width:560px;white-space:pre-wrap;word-break:break-word}\n"
    ".conds{display:flex;flex-wrap:wrap;gap:18px}.conds>div{flex:0 0 auto}\n"
    ".filters{margin:6px 0}.filters input{margin-right:10px}.count{color:#666}\n"
    ".card{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:8px 14px;margin:10px 0}\n"
    ".card h4{margin:4px 0 6px}.muted{color:#666}.pos{color:#0a7d32}.neg{color:#b3261e}\n"
    ".tokens{font:13px/1.9 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;\n"
    "  background:#fcfcfc;border:1px solid #e3e3e3;padding:6px 8px;margin:4px 0 10px}\n"
    ".tok{border-radius:3px;padding:1px 0}.tok.resp{border-bottom:2px solid #7aa7d8}\n"
    ".tok.special{color:#888;font-size:11px}.boundary{color:#7aa7d8;font-weight:bold}\n"
    "#js-errors{background:#fde8e8;color:#b3261e;padding:8px 24px;white-space:pre-wrap}\n"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;background:#fff;padding:8px 12px;\n"
    "  border:1px solid #d5dbe3}dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-all}\n"
    "select{max-width:420px}.scroll{max-height:360px;overflow:auto;display:inline-block;margin-bottom:12px}\n"
    ".scroll table{margin:0}.scroll th{position:sticky;top:0}\n";

/* Runs first: any error of the main script lands in #js-errors. */
static const char REPORT_JS_ONERROR[] =
    "window.addEventListener('error',function(e){var d=document.getElementById('js-errors');"
    "d.hidden=false;d.textContent+=(e.message||'error')+'\\n';});\n";

static const char REPORT_JS[] =
    "(function(){'use strict';\n"
    "var data=JSON.parse(document.getElementById('saex-data').textContent);\n"
    "function num(td){var v=td.getAttribute('data-v');if(v===null)return td.textContent;return v===''?NaN:parseFloat(v);}\n"
    "function cmp(x,y,asc){if(typeof x==='number'&&typeof y==='number'){\n"
    "  if(isNaN(x))return isNaN(y)?0:1;if(isNaN(y))return -1;return asc?x-y:y-x;}\n"
    "  return asc?String(x).localeCompare(String(y)):String(y).localeCompare(String(x));}\n"
    "document.querySelectorAll('table.sortable').forEach(function(table){\n"
    "  var heads=table.tHead.rows[0].cells;\n"
    "  Array.prototype.forEach.call(heads,function(th,col){th.addEventListener('click',function(){\n"
    "    var asc=th.getAttribute('data-sort')!=='asc';\n"
    "    Array.prototype.forEach.call(heads,function(h){h.removeAttribute('data-sort');});\n"
    "    th.setAttribute('data-sort',asc?'asc':'desc');\n"
    "    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "    rows.sort(function(a,b){return cmp(num(a.cells[col]),num(b.cells[col]),asc);});\n"
    "    rows.forEach(function(r){body.appendChild(r);});});});});\n"
    "document.querySelectorAll('.filters').forEach(function(box){\n"
    "  var table=document.getElementById(box.getAttribute('data-table'));\n"
    "  var text=box.querySelector('input.text'),pmax=box.querySelector('input.pmax');\n"
    "  function apply(){var q=text.value.trim().toLowerCase();\n"
    "    var lim=pmax&&pmax.value!==''?parseFloat(pmax.value):Infinity,shown=0,rows=table.tBodies[0].rows;\n"
    "    Array.prototype.forEach.call(rows,function(row){\n"
    "      var ok=!q||row.textContent.toLowerCase().indexOf(q)>=0;\n"
    "      if(ok&&pmax){var p=parseFloat(row.getAttribute('data-padj'));ok=!(p>lim);}\n"
    "      row.hidden=!ok;if(ok)shown++;});\n"
    "    box.querySelector('.count').textContent=shown+' of '+rows.length+' rows';}\n"
    "  text.addEventListener('input',apply);if(pmax)pmax.addEventListener('input',apply);apply();});\n"
    /* Token pieces: U+2581 is a space, <0xHH> a byte (runs of them are decoded
     * together as UTF-8), <0x0A> a line break, <bos> and the like are markers. */
    "var BYTE=/^<0x([0-9A-Fa-f]{2})>$/,SPECIAL=/^<[^<>\\s]+>$/;\n"
    "var utf8=typeof TextDecoder!=='undefined'?new TextDecoder('utf-8'):null;\n"
    "function groups(tok){var out=[],i=0;while(i<tok.length){var m=BYTE.exec(tok[i]||'');\n"
    "  if(m){var bytes=[],j=i;while(j<tok.length&&(m=BYTE.exec(tok[j]||''))){bytes.push(parseInt(m[1],16));j++;}\n"
    "    var s=utf8?utf8.decode(new Uint8Array(bytes)):String.fromCharCode.apply(null,bytes);\n"
    "    out.push({from:i,to:j,text:s.replace(/\\n/g,'\\u21b5\\n'),special:false});i=j;continue;}\n"
    "  var p=tok[i];if(p===null||p===undefined)out.push({from:i,to:i+1,text:'\\u2423',special:true});\n"
    "  else if(SPECIAL.test(p))out.push({from:i,to:i+1,text:p,special:true});\n"
    "  else out.push({from:i,to:i+1,text:p.replace(/\\u2581/g,' '),special:false});i++;}return out;}\n"
    "function render(el,sample,layer,feature){el.textContent='';var s=data.tokens[sample];\n"
    "  if(!s){el.textContent='(no tokens: the output was made without --save-all-tokens)';return;}\n"
    "  var act=new Array(s.tok.length).fill(0),hits=((data.acts[layer]||{})[sample]||{})[feature]||[];\n"
    "  hits.forEach(function(h){act[h[0]]=h[1];});\n"
    "  var max=((data.max[layer]||{})[feature])||1;\n"
    "  groups(s.tok).forEach(function(g){var a=0;for(var k=g.from;k<g.to;k++)a=Math.max(a,act[k]);\n"
    "    if(s.pos[g.from]===s.as){var b=document.createElement('span');b.className='boundary';\n"
    "      b.textContent='\\u2502';b.title='response starts';el.appendChild(b);}\n"
    "    var sp=document.createElement('span');sp.className='tok'+(g.special?' special':'')+(s.pos[g.from]>=s.as?' resp':'');\n"
    "    sp.textContent=g.text;sp.title=s.tok.slice(g.from,g.to).join(' ')+'  '+(a?a.toPrecision(4):'0');\n"
    "    if(a>0)sp.style.backgroundColor='rgba(255,140,0,'+Math.min(1,0.12+0.88*a/max).toFixed(3)+')';\n"
    "    el.appendChild(sp);});}\n"
    "document.querySelectorAll('.tokens[data-sample]').forEach(function(el){\n"
    "  render(el,el.getAttribute('data-sample'),el.getAttribute('data-layer'),el.getAttribute('data-feature'));});\n"
    "var fsel=document.getElementById('view-feature'),ssel=document.getElementById('view-sample'),\n"
    "  view=document.getElementById('view-tokens');\n"
    "if(fsel&&ssel&&view){\n"
    "  Object.keys(data.cards).forEach(function(layer){data.cards[layer].forEach(function(f){\n"
    "    var o=document.createElement('option');o.value=layer+':'+f;o.textContent='layer '+layer+', feature '+f;\n"
    "    fsel.appendChild(o);});});\n"
    "  Object.keys(data.tokens).forEach(function(i){var o=document.createElement('option');o.value=i;\n"
    "    o.textContent=data.tokens[i].label+' ('+data.tokens[i].cond+')';ssel.appendChild(o);});\n"
    "  var show=function(){var lf=fsel.value.split(':');render(view,ssel.value,lf[0],lf[1]);};\n"
    "  fsel.addEventListener('change',show);ssel.addEventListener('change',show);if(fsel.value&&ssel.value)show();}\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n";

#endif
