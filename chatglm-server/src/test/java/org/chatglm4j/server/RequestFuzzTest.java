package org.chatglm4j.server;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Jazzer on the request parsers, from the raw body on: JSON, limits, the OpenAI {@code /v1/chat/completions} body
 * (messages, parameters) and the reference {@code POST /} body. Every input is a parsed request or an
 * {@link ApiError} with a 4xx status; any other exception, a hang or an OOM is a finding.
 */
class RequestFuzzTest {
    private static final ServerContext CTX = new ServerContext(null, ServerOptions.defaults(), null, null,
            ServerContext.newMapper(), 0);
    private static final int CONTEXT = 2048;

    @FuzzTest(maxDuration = "2m")
    void openAi(byte[] body) {
        try {
            JsonNode json = CTX.parseObject(body);
            ServerLimits limits = CTX.options().limits();
            RequestBudget.entries(json.get("messages"), "messages", limits);
            CompletionRequest req = CompletionRequest.parse(json, CONTEXT);
            RequestBudget.chars(limits, req.conversation().query(), req.conversation().history(), req.config().stop());
        } catch (ApiError e) {
            if (e.status < 400 || e.status > 499) throw e;
        }
    }

    @FuzzTest(maxDuration = "2m")
    void reference(byte[] body) {
        try {
            ReferenceApi.parse(CTX.parseObject(body), CTX.options().limits(), CONTEXT);
        } catch (ApiError e) {
            if (e.status < 400 || e.status > 499) throw e;
        }
    }
}
