package org.chatglm4j.server;

/**
 * A request that fails with an HTTP status before any of its response was sent. Rendered OpenAI-style
 * ({@code {"error":{"message","type","param","code"}}}) on {@code /v1} routes and FastAPI-style
 * ({@code {"detail": message}}) elsewhere.
 *
 * @param retryAfterSeconds sent as Retry-After when positive
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;
    final int retryAfterSeconds;

    ApiError(int status, String type, String param, String code, String message, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    static ApiError badRequest(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message, 0);
    }

    static ApiError badRequest(String param, String code, String message) {
        return new ApiError(400, "invalid_request_error", param, code, message, 0);
    }

    static ApiError notFound(String message) {
        return new ApiError(404, "invalid_request_error", null, "not_found", message, 0);
    }

    static ApiError methodNotAllowed(String method, String path) {
        return new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                "method " + method + " is not allowed on " + path, 0);
    }

    static ApiError unauthorized() {
        return new ApiError(401, "authentication_error", null, "invalid_api_key",
                "a valid API key is required (Authorization: Bearer <key>)", 0);
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than " + limit + " bytes", 0);
    }

    static ApiError busy(int status, String message) {
        return new ApiError(status, "server_busy", null, "server_busy", message, 1);
    }

    static ApiError timeout() {
        return new ApiError(504, "timeout", null, "timeout", "the request took longer than the server's time limit", 0);
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", null, "internal_error", message, 0);
    }
}
