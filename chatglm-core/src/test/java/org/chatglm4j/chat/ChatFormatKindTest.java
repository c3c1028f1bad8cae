package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChatFormatKindTest {
    @Test
    void explicitThenRepoIdThenNameOrPathThenDefault(@TempDir Path tmp) throws Exception {
        assertThat(ChatFormatKind.decide("glm3", "THUDM/chatglm2-6b", null).kind()).isEqualTo(ChatFormatKind.GLM3);
        assertThat(ChatFormatKind.decide(null, "THUDM/chatglm3-6b", null).kind()).isEqualTo(ChatFormatKind.GLM3);
        assertThat(ChatFormatKind.decide(null, "THUDM/codegeex2-6b", null).kind()).isEqualTo(ChatFormatKind.GLM2);
        assertThat(ChatFormatKind.decide(null, "THUDM/chatglm2-6b-int4", null).kind()).isEqualTo(ChatFormatKind.GLM2);
        var fromConfig = ChatFormatKind.decide(null, null, Fixtures.path("glm3/model/checkpoint"));
        assertThat(fromConfig.kind()).isEqualTo(ChatFormatKind.GLM3);
        assertThat(fromConfig.reason()).contains("_name_or_path oracle/glm3-public");
        assertThat(ChatFormatKind.decide(null, null, Fixtures.path("glm3/tokenizer")).kind())
                .isEqualTo(ChatFormatKind.GLM3);
        assertThat(ChatFormatKind.decide(null, null, Fixtures.path("glm2/model/checkpoint")).defaulted()).isFalse();
        Files.writeString(tmp.resolve("config.json"), "{\"_name_or_path\": \"my/finetune\"}");
        var dflt = ChatFormatKind.decide(null, null, tmp);
        assertThat(dflt.kind()).isEqualTo(ChatFormatKind.GLM2);
        assertThat(dflt.defaulted()).isTrue();
        assertThatThrownBy(() -> ChatFormatKind.parse("glm4")).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("glm2 or glm3");
    }
}
