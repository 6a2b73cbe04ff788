package io.tierflow.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * The one call a reader of the Confluent framing needs: a writer schema by its id
 * ({@code GET <url>/schemas/ids/<id>}, Confluent's API; Apicurio serves it under
 * {@code /apis/ccompat/v7}). Each id is fetched once.
 */
final class SchemaRegistry {
    private final String baseUrl;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final ObjectMapper json = new ObjectMapper();
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();

    SchemaRegistry(String baseUrl) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    }

    Schema schemaById(int id) throws IOException {
        Schema known = byId.get(id);
        if (known != null) {
            return known;
        }
        URI uri = URI.create(baseUrl + "/schemas/ids/" + id);
        HttpRequest request =
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching schema id " + id, interrupted);
        }
        if (response.statusCode() != 200) {
            throw new IOException(
                    "schema id " + id + ": registry answered " + response.statusCode() + " "
                            + response.body());
        }
        JsonNode body = json.readTree(response.body());
        JsonNode text = body.get("schema");
        if (text == null || !text.isTextual()) {
            throw new IOException("schema id " + id + ": no \"schema\" in " + response.body());
        }
        Schema schema = new Schema.Parser().parse(text.asText());
        byId.put(id, schema);
        return schema;
    }
}
