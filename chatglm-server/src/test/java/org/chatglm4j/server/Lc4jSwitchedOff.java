package org.chatglm4j.server;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Map;

/**
 * The tests of LangChain4j's conformance suites that cannot hold against this server, each with its reason; they
 * are reported as skipped with that reason (the same list is in docs/server.md).
 */
final class Lc4jSwitchedOff implements ExecutionCondition {
    private static final String KNOWLEDGE = "asserts what a trained model knows (%s); the fixture model has random weights";
    private static final String ONE_MODEL = "the server serves its one model under any requested name (documented), so a"
            + " model name is neither echoed nor refused";

    static final Map<String, String> REASONS = Map.of(
            "should_respect_user_message", KNOWLEDGE.formatted("\"Berlin\""),
            "should_respect_system_message", KNOWLEDGE.formatted("a German translation, \"liebe\""),
            "should_respect_multiple_messages", KNOWLEDGE.formatted("recalling \"green\" from earlier messages"),
            "should_respect_stopSequences_in_chat_request", KNOWLEDGE.formatted("\"Hello\" before the stop sequence"),
            "should_respect_stopSequences_in_default_model_parameters", KNOWLEDGE.formatted("\"Hello\" before the stop sequence"),
            "should_propagate_user_exceptions_thrown_from_onPartialResponse", KNOWLEDGE.formatted("\"Berlin\""),
            "should_propagate_user_exceptions_thrown_from_onCompleteResponse", KNOWLEDGE.formatted("\"Berlin\""),
            "should_ignore_user_exceptions_thrown_from_onError", KNOWLEDGE.formatted("\"Berlin\""),
            "should_respect_modelName_in_chat_request", ONE_MODEL,
            "should_respect_modelName_in_default_model_parameters", ONE_MODEL);
    static final String FAIL_IF_MODEL_NAME = "should_fail_if_modelName_is_not_supported";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String name = context.getTestMethod().map(java.lang.reflect.Method::getName).orElse(null);
        if (name == null) return ConditionEvaluationResult.enabled("a class");
        if (name.equals(FAIL_IF_MODEL_NAME)) return ConditionEvaluationResult.disabled(ONE_MODEL);
        String reason = REASONS.get(name);
        return reason == null ? ConditionEvaluationResult.enabled("conformance") : ConditionEvaluationResult.disabled(reason);
    }
}
