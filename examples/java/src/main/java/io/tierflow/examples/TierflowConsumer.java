package io.tierflow.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tierflow.v1.LedgerEntry;
import io.tierflow.v1.TierChange;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads tierflow's ledger and tier-change topics from the beginning (read_committed), decodes
 * every record with the classes generated from schemas/*.avsc and prints one JSON line per
 * record, then a summary line. Stops after {@code --expect N} records, or when nothing new came
 * for {@code --idle-seconds}; gives up after {@code --timeout-seconds}. Exit code 0 when every
 * record decoded and the expected count (if any) was reached, 1 otherwise, 2 on bad arguments.
 *
 * <pre>
 * java -jar target/tierflow-java-consumer.jar --bootstrap-servers 127.0.0.1:9092 \
 *     --ledger-topic loyalty.ledger --tier-changes-topic loyalty.tier-changes [--expect N] \
 *     [--idle-seconds 10] [--timeout-seconds 120] [--schema-registry-url URL] \
 *     [--consumer-property security.protocol=SASL_SSL ...]
 * </pre>
 */
public final class TierflowConsumer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration POLL = Duration.ofMillis(250);
    private static final Duration DRAIN = Duration.ofSeconds(5);

    private final Options options;
    private final Map<String, WireDecoder<? extends SpecificRecord>> decoders = new HashMap<>();
    private final Map<String, Long> decodedByTopic = new LinkedHashMap<>();
    private final Map<String, Long> byFraming = new LinkedHashMap<>();
    private final PrintStream out;
    private long records;
    private long errors;

    private TierflowConsumer(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
        SchemaRegistry registry =
                options.registryUrl == null ? null : new SchemaRegistry(options.registryUrl);
        decoders.put(
                options.ledgerTopic,
                new WireDecoder<>(LedgerEntry.class, LedgerEntry.getClassSchema(), registry));
        decoders.put(
                options.tierChangesTopic,
                new WireDecoder<>(TierChange.class, TierChange.getClassSchema(), registry));
        for (String topic : decoders.keySet()) {
            decodedByTopic.put(topic, 0L);
        }
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException bad) {
            System.err.println("tierflow-java-consumer: " + bad.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        System.exit(new TierflowConsumer(options, out).run());
    }

    private int run() {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(clientConfig())) {
            List<TopicPartition> partitions = partitionsOf(consumer);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            String stopped = readUntilDone(consumer);
            // Past the stop: whatever else is there (transaction markers, or records beyond the
            // expected count) is read too, so `remaining` says whether anything was left unread.
            drain(consumer, partitions);
            Map<String, Long> remaining = remaining(consumer, partitions);
            printSummary(stopped, remaining);
            boolean complete = !stopped.equals("timeout") && errors == 0;
            return complete ? 0 : 1;
        }
    }

    private Properties clientConfig() {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "tierflow-java-consumer");
        // Outputs of a transaction that was aborted (or is still open) are never seen.
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(options.consumerProperties);
        return config;
    }

    private List<TopicPartition> partitionsOf(KafkaConsumer<byte[], byte[]> consumer) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : decoders.keySet()) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException("topic " + topic + " does not exist");
            }
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
        }
        return partitions;
    }

    private String readUntilDone(KafkaConsumer<byte[], byte[]> consumer) {
        long deadline = System.nanoTime() + options.timeout.toNanos();
        long lastRecord = System.nanoTime();
        while (true) {
            int got = pollOnce(consumer);
            long now = System.nanoTime();
            if (got > 0) {
                lastRecord = now;
            }
            if (options.expect != null && records >= options.expect) {
                return "expected";
            }
            if (options.expect == null && now - lastRecord >= options.idle.toNanos()) {
                return "idle";
            }
            if (now >= deadline) {
                return "timeout";
            }
        }
    }

    private void drain(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
        long deadline = System.nanoTime() + DRAIN.toNanos();
        while (System.nanoTime() < deadline) {
            pollOnce(consumer);
            if (remaining(consumer, partitions).values().stream().allMatch(left -> left == 0)) {
                return;
            }
        }
    }

    private int pollOnce(KafkaConsumer<byte[], byte[]> consumer) {
        int got = 0;
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
            print(record);
            got++;
        }
        return got;
    }

    /** Per topic: committed records at the broker not yet read (the last stable offset). */
    private Map<String, Long> remaining(
            KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
        Map<String, Long> left = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            long behind = Math.max(0, ends.get(partition) - consumer.position(partition));
            left.merge(partition.topic(), behind, Long::sum);
        }
        return left;
    }

    private void print(ConsumerRecord<byte[], byte[]> record) {
        records++;
        ObjectNode line = JSON.createObjectNode();
        line.put("topic", record.topic());
        line.put("partition", record.partition());
        line.put("offset", record.offset());
        line.put("timestamp", record.timestamp());
        line.put("key", record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8));
        String framing = WireDecoder.framing(record.value());
        line.put("framing", framing);
        try {
            SpecificRecord decoded = decoders.get(record.topic()).decode(record.value());
            line.put("schema", decoded.getSchema().getFullName());
            line.set("record", toJson(decoded));
            decodedByTopic.merge(record.topic(), 1L, Long::sum);
            byFraming.merge(framing, 1L, Long::sum);
        } catch (Exception failure) {
            errors++;
            line.put("error", failure.getClass().getSimpleName() + ": " + failure.getMessage());
        }
        out.println(line);
    }

    private void printSummary(String stopped, Map<String, Long> remaining) {
        ObjectNode summary = JSON.createObjectNode();
        summary.put("summary", true);
        summary.put("stopped", stopped);
        summary.put("records", records);
        summary.put("errors", errors);
        summary.set("decoded", JSON.valueToTree(decodedByTopic));
        summary.set("framing", JSON.valueToTree(byFraming));
        summary.set("remaining", JSON.valueToTree(remaining));
        out.println(summary);
    }

    /** Every field of a generated record, by the schema's field names. */
    static ObjectNode toJson(SpecificRecord record) {
        ObjectNode node = JSON.createObjectNode();
        for (Schema.Field field : record.getSchema().getFields()) {
            node.set(field.name(), JSON.valueToTree(plain(record.get(field.pos()))));
        }
        return node;
    }

    /** Avro's Java values as JSON-friendly ones: decimals and times as text, bytes as base64. */
    private static Object plain(Object value) {
        if (value instanceof BigDecimal decimal) {
            return decimal.toPlainString();
        }
        if (value instanceof Instant || value instanceof LocalDate || value instanceof Enum<?>) {
            return value.toString();
        }
        if (value instanceof CharSequence text) {
            return text.toString();
        }
        if (value instanceof ByteBuffer bytes) {
            ByteBuffer copy = bytes.duplicate();
            byte[] raw = new byte[copy.remaining()];
            copy.get(raw);
            return Base64.getEncoder().encodeToString(raw);
        }
        if (value instanceof SpecificRecord nested) {
            return toJson(nested);
        }
        if (value instanceof List<?> items) {
            ArrayNode array = JSON.createArrayNode();
            for (Object item : items) {
                array.add(JSON.valueToTree(plain(item)));
            }
            return array;
        }
        return value;
    }

    /** The command line. */
    static final class Options {
        static final String USAGE =
                "usage: --bootstrap-servers HOST:PORT --ledger-topic NAME --tier-changes-topic NAME"
                        + " [--expect N] [--idle-seconds S] [--timeout-seconds S]"
                        + " [--schema-registry-url URL] [--consumer-property KEY=VALUE ...]";

        String bootstrapServers;
        String ledgerTopic;
        String tierChangesTopic;
        Long expect;
        Duration idle = Duration.ofSeconds(10);
        Duration timeout = Duration.ofSeconds(120);
        String registryUrl;
        final Map<String, String> consumerProperties = new LinkedHashMap<>();

        static Options parse(String[] args) {
            Options options = new Options();
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--bootstrap-servers" -> options.bootstrapServers = value;
                    case "--ledger-topic" -> options.ledgerTopic = value;
                    case "--tier-changes-topic" -> options.tierChangesTopic = value;
                    case "--expect" -> options.expect = Long.parseLong(value);
                    case "--idle-seconds" -> options.idle = Duration.ofMillis(millis(value));
                    case "--timeout-seconds" -> options.timeout = Duration.ofMillis(millis(value));
                    case "--schema-registry-url" -> options.registryUrl = value;
                    case "--consumer-property" -> {
                        int equals = value.indexOf('=');
                        if (equals <= 0) {
                            throw new IllegalArgumentException("--consumer-property KEY=VALUE");
                        }
                        options.consumerProperties.put(
                                value.substring(0, equals), value.substring(equals + 1));
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (options.bootstrapServers == null
                    || options.ledgerTopic == null
                    || options.tierChangesTopic == null) {
                throw new IllegalArgumentException(
                        "--bootstrap-servers, --ledger-topic and --tier-changes-topic are required");
            }
            return options;
        }

        private static long millis(String seconds) {
            return Math.round(Double.parseDouble(seconds) * 1000);
        }
    }
}
