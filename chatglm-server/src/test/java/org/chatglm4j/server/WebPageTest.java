package org.chatglm4j.server;

import org.chatglm4j.generate.FinishReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The chat page in a real headless Chromium: a question streams in, Stop cancels the generation on the server,
 * Clear empties the conversation, both languages, the API key field, and HTML in text stays text. Screenshots go
 * to target/web-chat-*.png.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebPageTest {
    private static final Path CHROMIUM = Path.of(System.getProperty("chatglm.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("chatglm.chromedriver", "/usr/bin/chromedriver"));

    private TestEngine engine;
    private ChatServer server;
    private ChatServer keyed;
    private WebDriver driver;
    private Path profile;

    @BeforeAll
    void start() throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("the browser test needs Chromium and its driver at " + CHROMIUM + " and " + CHROMEDRIVER
                    + ": install them with 'apt-get install -y chromium chromium-driver' (CI does)");
        }
        engine = new TestEngine(Fixture.model());
        server = ChatServer.start(ServerOptions.defaults().withPort(0), engine);
        keyed = ChatServer.start(ServerOptions.defaults().withPort(0).withApiKey("page-key"), Fixture.model());
        // never let Selenium Manager look for (or download) a driver or a browser
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profile = Files.createTempDirectory("chatglm-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--lang=en-US", "--window-size=412,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
        driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(412, 900)); // a phone-sized screen
    }

    @AfterAll
    void stop() throws IOException {
        if (driver != null) driver.quit();
        if (server != null) server.close();
        if (keyed != null) keyed.close();
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private WebDriverWait waiting() {
        return new WebDriverWait(driver, Duration.ofSeconds(30));
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private String state() {
        return driver.findElement(By.tagName("body")).getAttribute("data-state");
    }

    private void slider(String id, int value) {
        js("const e = document.getElementById(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input'));", id, value);
    }

    private void ask(String question) {
        WebElement input = driver.findElement(By.id("input"));
        input.sendKeys(question);
        input.sendKeys(Keys.ENTER);
    }

    private WebElement lastReply() {
        List<WebElement> replies = driver.findElements(By.cssSelector(".msg.assistant"));
        return replies.getLast();
    }

    private void screenshot(String name) throws IOException {
        File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", "web-chat-" + name + ".png");
        Files.createDirectories(target.getParent());
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void chatStreamStopAndClear() throws Exception {
        driver.get(server.uri().toString());
        assertThat(driver.getTitle()).isEqualTo("ChatGLM");
        js("localStorage.clear()");
        driver.navigate().refresh();
        // English from the browser's language, Chinese one click away
        assertThat(driver.findElement(By.id("clear")).getText()).isEqualTo("Clear history");
        driver.findElement(By.id("lang")).click();
        assertThat(driver.findElement(By.id("clear")).getText()).isEqualTo("清空历史");
        assertThat(driver.findElement(By.id("send")).getText()).isEqualTo("发送");
        assertThat(driver.findElement(By.id("input")).getAttribute("placeholder")).contains("输入问题");
        // fits a phone's width: nothing scrolls sideways
        assertThat((Long) js("return document.documentElement.scrollWidth - window.innerWidth")).isLessThanOrEqualTo(0L);

        // 1. a short reply (small maximum length) that completes; the page shows exactly the server's reply
        engine.tokenDelayMillis = 10;
        driver.findElement(By.tagName("summary")).click();
        slider("maxLength", 48);
        assertThat(driver.findElement(By.id("maxLengthValue")).getText()).isEqualTo("48");
        slider("temperature", 0);
        ask("你好，请介绍一下你自己");
        waiting().until(d -> "done".equals(state()));
        String reply = engine.lastCall().response().response();
        assertThat(reply).isNotEmpty();
        assertThat(engine.lastCall().config().maxLength()).isEqualTo(48);
        // (through a detached element: the DOM serializes entities its own way)
        assertThat(lastReply().getAttribute("innerHTML")).isEqualTo(js(
                "const d = document.createElement('div'); d.innerHTML = Markdown.render(arguments[0]); return d.innerHTML", reply));
        assertThat(driver.findElements(By.cssSelector(".msg.user"))).hasSize(1);

        // 2. a long reply streams in token by token until Stop, which cancels the generation on the server
        engine.tokenDelayMillis = 40;
        slider("maxLength", 2048);
        int callsBefore = engine.calls.size();
        ask("Write a long story about the JVM");
        waiting().until(d -> lastReply().getText().length() > 2);
        int first = lastReply().getText().length();
        waiting().until(d -> lastReply().getText().length() > first + 2);
        assertThat(state()).isEqualTo("streaming");
        assertThat(driver.findElement(By.id("stop")).isEnabled()).isTrue();
        assertThat(driver.findElement(By.id("send")).isEnabled()).isFalse();
        // the second request carries the first round as history
        assertThat(engine.lastSeen().history()).hasSize(1);
        assertThat(engine.lastSeen().history().getFirst().response()).isEqualTo(reply);
        screenshot("streaming");
        driver.findElement(By.id("stop")).click();
        waiting().until(d -> "stopped".equals(state()));
        waiting().until(d -> engine.calls.size() > callsBefore);
        assertThat(engine.lastCall().response().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(engine.lastCall().response().completionTokens()).isLessThan(2000);
        assertThat(driver.findElement(By.id("stop")).isEnabled()).isFalse();
        assertThat(driver.findElement(By.id("status")).getText()).isEqualTo("已停止");
        screenshot("stopped");

        // 3. Clear empties the conversation: the next question has no history
        driver.findElement(By.id("clear")).click();
        assertThat(driver.findElements(By.cssSelector(".msg"))).isEmpty();
        assertThat(state()).isEqualTo("idle");
        engine.tokenDelayMillis = 0;
        slider("maxLength", 40);
        ask("<b>bold?</b> & **markdown**");
        waiting().until(d -> "done".equals(state()));
        assertThat(engine.lastCall().history()).isEmpty();
        // what the user typed is shown as text, never as markup
        WebElement question = driver.findElements(By.cssSelector(".msg.user")).getFirst();
        assertThat(question.findElements(By.tagName("b"))).isEmpty();
        assertThat(question.getText()).contains("<b>bold?</b> &");
        assertThat(question.findElement(By.tagName("strong")).getText()).isEqualTo("markdown");
        driver.manage().window().setSize(new Dimension(1100, 760));
        screenshot("desktop");
        driver.manage().window().setSize(new Dimension(412, 900));
    }

    @Test
    void markdownEscapesHtml() {
        driver.get(server.uri().toString());
        String html = (String) js("return Markdown.render(arguments[0])", String.join("\n",
                "# Title <i>x</i>",
                "<img src=x onerror=alert(1)>",
                "Some **bold**, *italic* and `<code>` text",
                "- one",
                "- two",
                "```js\" onmouseover=\"alert(1)",
                "if (a < b && c > d) { alert('hi'); }",
                "```",
                "1. first"));
        assertThat(html).doesNotContain("<img").doesNotContain("<i>").doesNotContain("onmouseover=\"");
        assertThat(html).contains("<h1>Title &lt;i&gt;x&lt;/i&gt;</h1>");
        assertThat(html).contains("&lt;img src=x onerror=alert(1)&gt;");
        assertThat(html).contains("<strong>bold</strong>").contains("<em>italic</em>").contains("<code>&lt;code&gt;</code>");
        assertThat(html).contains("<ul><li>one</li><li>two</li></ul>").contains("<ol><li>first</li></ol>");
        assertThat(html).contains("<pre><code class=\"language-js\">if (a &lt; b &amp;&amp; c &gt; d) { alert(&#39;hi&#39;); }</code></pre>");
        // a code block still streaming (no closing fence yet) renders as code
        assertThat((String) js("return Markdown.render('```python\\nprint(1)')")).isEqualTo("<pre><code class=\"language-python\">print(1)</code></pre>");
    }

    @Test
    void theApiKeyFieldUnlocksAProtectedServer() throws Exception {
        driver.get(keyed.uri().toString());
        js("localStorage.clear(); localStorage.setItem('chatglm.lang', 'en')");
        driver.navigate().refresh();
        driver.findElement(By.tagName("summary")).click();
        slider("maxLength", 40);
        ask("hello");
        waiting().until(d -> "error".equals(state()));
        assertThat(lastReply().findElement(By.className("error")).getText()).contains("API key is required");
        WebElement key = driver.findElement(By.id("apiKey"));
        key.sendKeys("page-key");
        key.sendKeys(Keys.TAB); // 'change' stores it
        assertThat(js("return localStorage.getItem('chatglm.apiKey')")).isEqualTo("page-key");
        ask("hello again");
        waiting().until(d -> "done".equals(state()));
        assertThat(lastReply().getText()).isNotEmpty();
        assertThat(lastReply().findElements(By.className("error"))).isEmpty();
    }
}
