package org.chatglm4j.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Access to the golden fixtures copied from {@code shared/fixtures} into {@code src/test/resources/fixtures}
 * (tiny random-weight ChatGLM models and the outputs of the reference PyTorch code; see fixtures/README.md).
 */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, JsonNode> CACHE = new ConcurrentHashMap<>();

    private Fixtures() {
    }

    /** The fixtures folder on the test class path. */
    public static Path root() {
        URL url = Fixtures.class.getClassLoader().getResource("fixtures/MANIFEST.json");
        if (url == null) throw new IllegalStateException("fixtures/MANIFEST.json is not on the test class path");
        try {
            URI uri = url.toURI();
            if ("jar".equals(uri.getScheme())) return unpackedRoot(uri);
            return Path.of(uri).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Modules that use these fixtures through the core test-jar get the jar itself once a reactor build has run
     * {@code package} ({@code mvn package}, {@code mvn verify}). Models are memory-mapped, which needs real files:
     * use the test-classes folder the jar was packed from.
     */
    private static Path unpackedRoot(URI jarUri) {
        String spec = jarUri.getRawSchemeSpecificPart();
        int bang = spec.indexOf("!/");
        Path jar = Path.of(URI.create(bang >= 0 ? spec.substring(0, bang) : spec));
        Path dir = jar.toAbsolutePath().getParent().resolve("test-classes").resolve("fixtures");
        if (!Files.isRegularFile(dir.resolve("MANIFEST.json"))) {
            throw new IllegalStateException("the fixtures are inside " + jar + " and " + dir + " does not exist");
        }
        return dir;
    }

    public static Path path(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) throw new IllegalStateException("no fixture " + p);
        return p;
    }

    /** A parsed golden JSON file, cached: the files are read-only and some are several MB. */
    public static JsonNode json(String relative) {
        return CACHE.computeIfAbsent(relative, r -> {
            try {
                return JSON.readTree(path(r).toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    /** Float32 goldens are printed as the shortest decimal that round-trips to the same float. */
    public static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    public static float[][] floatRows(JsonNode array) {
        float[][] out = new float[array.size()][];
        for (int i = 0; i < out.length; i++) out[i] = floats(array.get(i));
        return out;
    }
}
