// A small Markdown renderer for chat replies: fenced code blocks, inline code, headings, lists, bold, italic and
// line breaks (what web_demo.py's parse_text and mdtex2html gave). Every piece of text is HTML-escaped before any
// tag is added, and no link, image or raw HTML is ever produced, so a reply cannot inject markup or script.
"use strict";

const Markdown = (() => {
  const ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};

  function escapeHtml(s) {
    return s.replace(/[&<>"']/g, c => ESC[c]);
  }

  // inline markup on one escaped line: `code` first (its content stays literal), then **bold** and *italic*
  function inline(text) {
    const codes = [];
    let s = escapeHtml(text.replace(/\u0000/g, "")).replace(/`([^`]+)`/g, (m, c) => {
      codes.push(c);
      return "\u0000" + (codes.length - 1) + "\u0000";
    });
    s = s.replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/(^|[^*\w])\*(?=\S)([^*]+?)\*(?!\w)/g, "$1<em>$2</em>");
    return s.replace(/\u0000(\d+)\u0000/g, (m, i) => "<code>" + codes[Number(i)] + "</code>");
  }

  function render(source) {
    const lines = source.replace(/\r\n?/g, "\n").split("\n");
    const out = [];
    let para = [];
    let list = null; // "ul" or "ol" while inside a list
    const flushPara = () => {
      if (para.length) out.push("<p>" + para.map(inline).join("<br>") + "</p>");
      para = [];
    };
    const closeList = () => {
      if (list) out.push("</" + list + ">");
      list = null;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = /^\s*```\s*([\w+#.-]{0,20})/.exec(line);
      if (fence) {
        flushPara();
        closeList();
        const code = [];
        i++;
        // an unclosed fence (a reply still streaming) runs to the end
        while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
        const lang = fence[1] ? ' class="language-' + escapeHtml(fence[1]) + '"' : "";
        out.push("<pre><code" + lang + ">" + escapeHtml(code.join("\n")) + "</code></pre>");
        continue;
      }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (heading) {
        flushPara();
        closeList();
        const level = heading[1].length;
        out.push("<h" + level + ">" + inline(heading[2]) + "</h" + level + ">");
      } else if (bullet || numbered) {
        flushPara();
        const kind = bullet ? "ul" : "ol";
        if (list !== kind) {
          closeList();
          out.push("<" + kind + ">");
          list = kind;
        }
        out.push("<li>" + inline((bullet || numbered)[1]) + "</li>");
      } else if (line.trim() === "") {
        flushPara();
        closeList();
      } else {
        closeList();
        para.push(line);
      }
    }
    flushPara();
    closeList();
    return out.join("");
  }

  return {render, escapeHtml};
})();
