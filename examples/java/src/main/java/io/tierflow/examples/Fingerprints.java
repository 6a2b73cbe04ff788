package io.tierflow.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tierflow.v1.DeadLetter;
import io.tierflow.v1.LedgerEntry;
import io.tierflow.v1.MemberEvent;
import io.tierflow.v1.MemberSnapshot;
import io.tierflow.v1.Notification;
import io.tierflow.v1.Receipt;
import io.tierflow.v1.ReviewTick;
import io.tierflow.v1.TierChange;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Prints, per record generated from schemas/*.avsc, what Avro's Java library computes: the
 * schema's full name, {@code SchemaNormalization.parsingFingerprint64} and the 8 bytes that
 * follow {@code C3 01} in a single-object message (the long, little-endian), one JSON line each.
 * docs/contract.md's fingerprint table is checked against this
 * ({@code java -cp target/tierflow-java-consumer.jar io.tierflow.examples.Fingerprints}).
 */
public final class Fingerprints {
    private static final List<Schema> SCHEMAS =
            List.of(
                    DeadLetter.getClassSchema(),
                    LedgerEntry.getClassSchema(),
                    MemberEvent.getClassSchema(),
                    MemberSnapshot.getClassSchema(),
                    Notification.getClassSchema(),
                    Receipt.getClassSchema(),
                    ReviewTick.getClassSchema(),
                    TierChange.getClassSchema());

    private Fingerprints() {}

    public static void main(String[] args) {
        ObjectMapper json = new ObjectMapper();
        for (Schema schema : SCHEMAS) {
            long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
            byte[] header =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fingerprint).array();
            ObjectNode line = json.createObjectNode();
            line.put("schema", schema.getFullName());
            line.put("parsing_fingerprint64", fingerprint);
            line.put("wire_hex", HexFormat.of().formatHex(header));
            line.put("canonical_form", SchemaNormalization.toParsingForm(schema));
            System.out.println(line);
        }
    }
}
