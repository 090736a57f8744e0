/* Progressive enhancement for the forms of the Sistema de O.S. Every form works without it.
 *
 * - A small rich-text editor over any <textarea data-editor>: bold, italic, underline, strike,
 *   lists, quote, link and clear formatting, from a toolbar (arrow keys move along it) or the
 *   keyboard (Ctrl+B, Ctrl+I, Ctrl+U, Ctrl+K). Pasted HTML (Word, web pages) is rebuilt from an
 *   allowlist, so no styles, classes or scripts arrive. On submit the textarea receives the HTML
 *   and the hidden "formato" field says so; the server sanitizes it again in any case.
 * - File inputs with data-max-bytes: chosen files are listed, and too large or too many files
 *   are reported before anything is sent, so a long text is never lost to a refused upload.
 * - Forms with data-once: the submit button is disabled after the first submit.
 * - A subject chooser (select[data-subject-chooser]) shows only that subject's fields.
 * - An input with data-enter="name": Enter in it presses the form's button of that name
 *   (the e-mail of "Registrar O.S." looks the contact up instead of registering).
 */
(function () {
  "use strict";

  var BLOCKS = { P: "p", DIV: "p", BLOCKQUOTE: "blockquote", UL: "ul", OL: "ol", LI: "li", PRE: "pre",
                 H1: "p", H2: "p", H3: "p", H4: "p", H5: "p", H6: "p", TR: "p" };
  // Table and cell elements: their content is kept, cells apart (Word and web tables).
  var SEPARATED = { TD: " ", TH: " ", TABLE: "", TBODY: "", THEAD: "", TFOOT: "" };
  var INLINE = { STRONG: "strong", B: "strong", EM: "em", I: "em", U: "u", S: "s", STRIKE: "s",
                 DEL: "s", CODE: "code", A: "a" };
  var DROP = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, SVG: 1, MATH: 1,
               NOSCRIPT: 1, TITLE: 1, META: 1, LINK: 1, HEAD: 1, IMG: 1, VIDEO: 1, AUDIO: 1,
               CANVAS: 1, FORM: 1, INPUT: 1, BUTTON: 1, SELECT: 1, TEXTAREA: 1 };

  function safeHref(href) {
    var value = (href || "").trim();
    return /^(https?:\/\/|mailto:)/i.test(value) ? value : null;
  }

  /* Copy `source`'s children into `target`, keeping only allowed elements and text. */
  function rebuild(source, target) {
    Array.prototype.forEach.call(source.childNodes, function (node) {
      if (node.nodeType === 3) {
        target.appendChild(document.createTextNode(node.nodeValue));
        return;
      }
      if (node.nodeType !== 1) return;
      var tag = node.tagName.toUpperCase();
      if (DROP[tag]) return;
      if (tag === "BR") { target.appendChild(document.createElement("br")); return; }
      // Word marks bold and italic with inline styles on spans.
      var style = (node.getAttribute("style") || "").toLowerCase();
      var name = BLOCKS[tag] || INLINE[tag];
      if (!name && tag === "SPAN") {
        if (/font-weight:\s*(bold|[6-9]00)/.test(style)) name = "strong";
        else if (/font-style:\s*italic/.test(style)) name = "em";
      }
      if (tag in SEPARATED) {
        if (SEPARATED[tag] && target.lastChild) target.appendChild(document.createTextNode(SEPARATED[tag]));
        rebuild(node, target);
        return;
      }
      if (!name) { rebuild(node, target); return; }
      var element = document.createElement(name);
      if (name === "a") {
        var href = safeHref(node.getAttribute("href"));
        if (!href) { rebuild(node, target); return; }
        element.setAttribute("href", href);
        element.setAttribute("rel", "nofollow noopener noreferrer");
      }
      rebuild(node, element);
      // Empty paragraphs (Word and the editor leave many) carry nothing.
      if (name === "p" && !element.textContent.replace(/\u00a0/g, " ").trim() && !element.querySelector("br")) return;
      target.appendChild(element);
    });
    return target;
  }

  function cleanHtml(html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    var holder = document.createElement("div");
    rebuild(parsed.body, holder);
    return holder.innerHTML;
  }

  function textToHtml(text) {
    var holder = document.createElement("div");
    text.replace(/\r\n/g, "\n").split(/\n\s*\n/).forEach(function (chunk) {
      if (!chunk.trim()) return;
      var p = document.createElement("p");
      chunk.split("\n").forEach(function (line, i) {
        if (i) p.appendChild(document.createElement("br"));
        p.appendChild(document.createTextNode(line));
      });
      holder.appendChild(p);
    });
    return holder.innerHTML;
  }

  var TOOLS = [
    { cmd: "bold", label: "Negrito (Ctrl+B)", text: "N", cls: "t-bold", state: true },
    { cmd: "italic", label: "Itálico (Ctrl+I)", text: "I", cls: "t-italic", state: true },
    { cmd: "underline", label: "Sublinhado (Ctrl+U)", text: "S", cls: "t-underline", state: true },
    { cmd: "strikeThrough", label: "Tachado", text: "T", cls: "t-strike", state: true },
    { cmd: "insertUnorderedList", label: "Lista com marcadores", text: "• Lista", state: true },
    { cmd: "insertOrderedList", label: "Lista numerada", text: "1. Lista", state: true },
    { cmd: "formatBlock", arg: "blockquote", label: "Citação", text: "“ Citação" },
    { cmd: "createLink", label: "Inserir link (Ctrl+K)", text: "Link" },
    { cmd: "removeFormat", label: "Limpar formatação", text: "Limpar" }
  ];

  function setupEditor(textarea) {
    var form = textarea.form;
    var format = form.querySelector("input[name=formato]");
    var label = form.querySelector("label[for='" + textarea.id + "']");

    var wrapper = document.createElement("div");
    wrapper.className = "editor";
    var toolbar = document.createElement("div");
    toolbar.className = "editor-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Formatação do texto");
    var area = document.createElement("div");
    area.className = "editor-area rich";
    area.id = textarea.id + "-editor";
    area.contentEditable = "true";
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    if (label) {
      label.id = label.id || textarea.id + "-rotulo";
      area.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { area.focus(); });
    }
    ["aria-describedby", "aria-invalid", "aria-required"].forEach(function (name) {
      if (textarea.hasAttribute(name)) area.setAttribute(name, textarea.getAttribute(name));
    });
    toolbar.setAttribute("aria-controls", area.id);

    var buttons = TOOLS.map(function (tool, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "tool " + (tool.cls || "");
      button.textContent = tool.text;
      button.title = tool.label;
      button.setAttribute("aria-label", tool.label);
      button.tabIndex = index === 0 ? 0 : -1;
      if (tool.state) button.setAttribute("aria-pressed", "false");
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () { run(tool); });
      toolbar.appendChild(button);
      return button;
    });

    function run(tool) {
      area.focus();
      if (tool.cmd === "createLink") {
        var href = safeHref(window.prompt("Endereço do link (https://…):", "https://"));
        if (!href) return;
        if (window.getSelection().isCollapsed) {
          document.execCommand("insertHTML", false, cleanHtml('<a href="' + href.replace(/"/g, "&quot;") + '">' +
            href.replace(/</g, "&lt;") + "</a>"));
        } else {
          document.execCommand("createLink", false, href);
        }
      } else if (tool.cmd === "formatBlock") {
        var inQuote = document.queryCommandValue("formatBlock").toLowerCase() === "blockquote";
        document.execCommand("formatBlock", false, inQuote ? "p" : tool.arg);
      } else {
        document.execCommand(tool.cmd, false, null);
      }
      refresh();
    }

    function refresh() {
      TOOLS.forEach(function (tool, i) {
        if (tool.state) {
          var on = false;
          try { on = document.queryCommandState(tool.cmd); } catch (e) { on = false; }
          buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
        }
      });
    }

    // The ARIA toolbar pattern: one tab stop, arrow keys move between buttons.
    toolbar.addEventListener("keydown", function (event) {
      var current = buttons.indexOf(document.activeElement);
      if (current < 0) return;
      var next = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      next = (next + buttons.length) % buttons.length;
      buttons[current].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });

    area.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        run(TOOLS[7]);
      }
    });
    area.addEventListener("keyup", refresh);
    area.addEventListener("mouseup", refresh);
    area.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      if (!data) return;
      event.preventDefault();
      var html = data.getData("text/html");
      if (html) document.execCommand("insertHTML", false, cleanHtml(html));
      else document.execCommand("insertText", false, data.getData("text/plain"));
    });
    area.addEventListener("drop", function (event) { event.preventDefault(); });

    var initial = textarea.value;
    area.innerHTML = format && format.value === "html" ? cleanHtml(initial) : textToHtml(initial);
    document.execCommand("defaultParagraphSeparator", false, "p");

    form.addEventListener("submit", function () {
      var html = cleanHtml(area.innerHTML);
      textarea.value = area.textContent.trim() ? html : "";
      if (format) format.value = "html";
    });

    // Links to the (now hidden) textarea, as in the error summary, lead to the editor.
    document.querySelectorAll("a[href='#" + textarea.id + "']").forEach(function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); area.focus(); });
    });

    textarea.hidden = true;
    wrapper.appendChild(toolbar);
    wrapper.appendChild(area);
    textarea.parentNode.insertBefore(wrapper, textarea);
    var help = form.querySelector("[data-editor-help]");
    if (help) help.textContent = help.getAttribute("data-editor-help");
  }

  // As formatting.file_size: "512 bytes", "129,8 kb", "10 mb".
  function formatSize(bytes) {
    if (bytes < 1024) return bytes === 1 ? "1 byte" : bytes + " bytes";
    var mb = bytes >= 1000 * 1024;
    var value = (bytes / (mb ? 1024 * 1024 : 1024)).toFixed(1).replace(/\.0$/, "").replace(".", ",");
    return value + (mb ? " mb" : " kb");
  }

  function setupFiles(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total"), 10);
    var list = document.getElementById(input.id + "-lista");
    var error = document.createElement("p");
    error.className = "error";
    error.id = input.id + "-erro-js";
    error.setAttribute("role", "alert");
    error.hidden = true;
    input.parentNode.insertBefore(error, list);

    function check() {
      var problems = [];
      list.innerHTML = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " (" + formatSize(file.size) + ")";
        list.appendChild(item);
        if (file.size > max) problems.push(file.name + ": tem " + formatSize(file.size) + "; o limite é " + formatSize(max) + " por arquivo.");
      });
      if (input.files.length > maxFiles) problems.push("Envie no máximo " + maxFiles + " arquivos por vez.");
      var total = Array.prototype.reduce.call(input.files, function (sum, f) { return sum + f.size; }, 0);
      if (total > maxTotal) problems.push("Juntos, os arquivos têm " + formatSize(total) + "; o limite por envio é " + formatSize(maxTotal) + ". Envie em mais de uma resposta.");
      error.textContent = problems.join(" ");
      error.hidden = !problems.length;
      input.setCustomValidity(problems.length ? problems.join(" ") : "");
      return !problems.length;
    }

    input.addEventListener("change", check);
    input.form.addEventListener("submit", function (event) {
      if (!check()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        input.focus();
      }
    }, true);
  }

  function setupOnce(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      if (form.getAttribute("data-sending") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-sending", "1");
      var button = form.querySelector("[type=submit][data-sending-text]");
      if (button) {
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.getAttribute("data-sending-text");
        }, 0);
      }
    });
  }

  function setupSubjectChooser(select) {
    var form = select.form;
    var groups = form.querySelectorAll("fieldset[data-subject]");
    var next = form.querySelector("[data-subject-next]");
    if (next) next.hidden = true;
    function show() {
      Array.prototype.forEach.call(groups, function (group) {
        var active = group.getAttribute("data-subject") === select.value;
        group.hidden = !active;
        group.disabled = !active;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  document.querySelectorAll("textarea[data-editor]").forEach(setupEditor);
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(setupFiles);
  document.querySelectorAll("form[data-once]").forEach(setupOnce);
  document.querySelectorAll("select[data-subject-chooser]").forEach(setupSubjectChooser);
  document.querySelectorAll("input[data-enter]").forEach(function (input) {
    input.addEventListener("keydown", function (event) {
      var button = input.form && input.form.elements.namedItem(input.getAttribute("data-enter"));
      if (event.key !== "Enter" || event.isComposing || event.shiftKey || event.ctrlKey || event.altKey ||
          event.metaKey || !button || !button.click) return;
      event.preventDefault();
      button.click();
    });
  });
})();
