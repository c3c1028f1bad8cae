// The chat page: keeps the conversation in the browser, sends it to the OpenAI-compatible endpoint with
// stream: true and shows the reply as it arrives. Stop aborts the fetch; the server then cancels the generation.
"use strict";

const TEXT = {
  zh: {
    placeholder: "输入问题……（Enter 发送，Shift+Enter 换行）", send: "发送", stop: "停止", clear: "清空历史",
    settings: "设置", maxLength: "最大长度", temperature: "温度", apiKey: "API 密钥", apiKeyHint: "服务器要求时填写",
    other: "English", thinking: "生成中……", stopped: "已停止", cleared: "历史已清空", done: "完成",
    error: "出错了", needKey: "需要 API 密钥：请在“设置”中填写。", tooLong: "对话太长，请清空历史或调大最大长度。",
    busy: "服务器繁忙，请稍后再试。"
  },
  en: {
    placeholder: "Type a question… (Enter to send, Shift+Enter for a new line)", send: "Send", stop: "Stop",
    clear: "Clear history", settings: "Settings", maxLength: "Maximum length", temperature: "Temperature",
    apiKey: "API key", apiKeyHint: "if the server asks for one", other: "中文", thinking: "Generating…",
    stopped: "Stopped", cleared: "History cleared", done: "Done", error: "Error",
    needKey: "An API key is required: enter it under Settings.",
    tooLong: "The conversation is too long: clear the history or raise the maximum length.",
    busy: "The server is busy, please try again shortly."
  }
};

const $ = id => document.getElementById(id);
const state = {history: [], controller: null, lang: "zh"};

function t(key) {
  return TEXT[state.lang][key];
}

function applyLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  localStorage.setItem("chatglm.lang", lang);
  document.querySelectorAll("[data-i18n]").forEach(el => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach(el => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  $("lang").textContent = t("other");
}

function setState(name, message) {
  document.body.dataset.state = name;
  $("status").textContent = message || "";
  const busy = name === "streaming";
  $("send").disabled = busy;
  $("stop").disabled = !busy;
}

function addMessage(role, text) {
  const el = document.createElement("div");
  el.className = "msg " + role;
  el.innerHTML = Markdown.render(text);
  $("chat").appendChild(el);
  el.scrollIntoView({block: "end"});
  return el;
}

function settings() {
  return {
    max_length: Number($("maxLength").value),
    top_p: Number($("topP").value),
    temperature: Number($("temperature").value)
  };
}

function messagesFor(query) {
  const messages = [];
  for (const round of state.history) {
    messages.push({role: "user", content: round.q});
    messages.push({role: "assistant", content: round.r});
  }
  messages.push({role: "user", content: query});
  return messages;
}

async function explain(response) {
  let message = response.status + " " + response.statusText;
  try {
    const body = await response.json();
    if (body.error && body.error.message) message = body.error.message;
    if (response.status === 401) return t("needKey");
    if (body.error && body.error.code === "context_length_exceeded") return t("tooLong") + " (" + message + ")";
    if (response.status === 429) return t("busy");
  } catch (e) { /* not JSON: keep the status line */ }
  return message;
}

async function send(query) {
  if (state.controller || !query.trim()) return;
  $("input").value = "";
  addMessage("user", query);
  const bubble = addMessage("assistant", "");
  bubble.classList.add("streaming");
  const controller = new AbortController();
  state.controller = controller;
  setState("streaming", t("thinking"));
  const headers = {"Content-Type": "application/json"};
  const key = $("apiKey").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  let reply = "";
  let outcome = "done";
  try {
    const response = await fetch("v1/chat/completions", {
      method: "POST", headers, signal: controller.signal,
      body: JSON.stringify(Object.assign({model: "chatglm-6b", messages: messagesFor(query), stream: true}, settings()))
    });
    if (!response.ok) throw new Error(await explain(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    while (!finished) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue; // ": ping" comments keep the connection alive
          const data = line.slice(5).trim();
          if (data === "[DONE]") { finished = true; break; }
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          const choice = chunk.choices && chunk.choices[0];
          if (choice && choice.delta && choice.delta.content) {
            reply += choice.delta.content;
            bubble.innerHTML = Markdown.render(reply);
            bubble.scrollIntoView({block: "end"});
          }
        }
      }
    }
    if (!finished) throw new Error("the connection closed before the reply was complete");
  } catch (e) {
    if (e.name === "AbortError") {
      outcome = "stopped";
    } else {
      outcome = "error";
      const note = document.createElement("div");
      note.className = "error";
      note.textContent = t("error") + ": " + e.message;
      bubble.appendChild(note);
    }
  } finally {
    state.controller = null;
    bubble.classList.remove("streaming");
  }
  // a stopped reply stays in the conversation as far as it got, as in other chat front ends
  if (outcome !== "error" && reply) state.history.push({q: query, r: reply});
  setState(outcome, t(outcome));
}

function stop() {
  if (state.controller) state.controller.abort();
}

function clearHistory() {
  stop();
  state.history = [];
  $("chat").replaceChildren();
  setState("idle", t("cleared"));
}

function init() {
  applyLanguage(localStorage.getItem("chatglm.lang") || (navigator.language.startsWith("zh") ? "zh" : "en"));
  $("apiKey").value = localStorage.getItem("chatglm.apiKey") || "";
  $("apiKey").addEventListener("change", () => localStorage.setItem("chatglm.apiKey", $("apiKey").value.trim()));
  for (const id of ["maxLength", "topP", "temperature"]) {
    const input = $(id);
    const show = () => { $(id + "Value").textContent = input.value; };
    input.addEventListener("input", show);
    show();
  }
  $("composer").addEventListener("submit", e => { e.preventDefault(); send($("input").value); });
  $("input").addEventListener("keydown", e => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send($("input").value); }
  });
  $("stop").addEventListener("click", stop);
  $("clear").addEventListener("click", clearHistory);
  $("lang").addEventListener("click", () => applyLanguage(state.lang === "zh" ? "en" : "zh"));
  setState("idle");
}

document.addEventListener("DOMContentLoaded", init);
