// Runs Debezium's embedded engine with the connector a properties file names
// (the end-to-end tests use the MariaDB connector, see
// tests/interop/debezium_fixture.py) and writes every record VALUE, converted by
// Kafka Connect's JsonConverter with schemas enabled, as one line of
// OUT_DIR/<topic>.jsonl: `{"schema":...,"payload":...}`, or `null` for a
// tombstone. Table topics and the schema-change topic (include.schema.changes)
// each get their own file; lines are flushed after every batch, so a reader
// polling a file sees whole lines only once the batch is written.
//
// Usage: java -cp 'JARS/*:CLASSES' DebeziumToJsonl CONNECTOR.properties OUT_DIR IDLE_S
//
// The converter is ours, not the engine's, so its settings are certain:
// schemas.enable=true and replace.null.with.default=false (else a NULL column
// arrives as the column's default). Properties named `converter.X` override
// the converter's setting X (a test shows what the defaults would do).
//
// With `sink.kafka.bootstrap.servers` set, every record is also produced to the
// Kafka topic of the same name (key: the record key through the same
// converter; the topics must exist), acknowledged before the batch counts as
// processed; other `sink.kafka.X` properties are producer settings.
//
// Stops cleanly (engine closed, offsets flushed) on SIGTERM/SIGINT (exit
// 143/130, as the signal says) or, exit 0,
// after IDLE_S seconds without a record once the first record came (0: never;
// the engine's start is not counted, it takes seconds on a loaded machine);
// exits 1 when the engine stops on an error, printing it.
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

public final class DebeziumToJsonl {
    private static final byte[] NEWLINE = {'\n'};
    private static final String CONVERTER_PREFIX = "converter.";
    private static final String KAFKA_PREFIX = "sink.kafka.";
    private static final byte[] TOMBSTONE = "null".getBytes(StandardCharsets.US_ASCII);

    /** Output directory: one file per topic. */
    private final Path outDir;
    /** Open output streams by topic name. */
    private final Map<String, OutputStream> outs = new HashMap<>();
    /** Converts record values to JSON with the schema block. */
    private final JsonConverter converter = new JsonConverter();
    /** Converts record keys the same way (Kafka sink only). */
    private final JsonConverter keyConverter = new JsonConverter();
    /** The Kafka sink's producer, or null when records go to files only. */
    private final KafkaProducer<byte[], byte[]> producer;
    /** System.nanoTime() of the last batch with records (meaningful once
     *  `written` is not 0). */
    final AtomicLong lastRecordNanos = new AtomicLong();
    /** Records written so far. */
    final AtomicLong written = new AtomicLong();

    DebeziumToJsonl(Path outDir, Properties props) {
        this.outDir = outDir;
        Map<String, Object> conf = new HashMap<>();
        conf.put("schemas.enable", "true");
        conf.put("replace.null.with.default", "false");
        conf.put("decimal.format", "BASE64");
        for (String k : props.stringPropertyNames()) {
            if (k.startsWith(CONVERTER_PREFIX)) {
                conf.put(k.substring(CONVERTER_PREFIX.length()), props.getProperty(k));
            }
        }
        converter.configure(conf, false);
        keyConverter.configure(conf, true);
        Map<String, Object> kafka = new HashMap<>();
        for (String k : props.stringPropertyNames()) {
            if (k.startsWith(KAFKA_PREFIX)) {
                kafka.put(k.substring(KAFKA_PREFIX.length()), props.getProperty(k));
            }
        }
        if (kafka.containsKey("bootstrap.servers")) {
            kafka.putIfAbsent("acks", "all");
            kafka.putIfAbsent("enable.idempotence", "true");
            kafka.putIfAbsent("linger.ms", "5");
            kafka.putIfAbsent("max.block.ms", "30000");
            producer = new KafkaProducer<>(kafka, new ByteArraySerializer(),
                                           new ByteArraySerializer());
        } else {
            producer = null;
        }
    }

    private OutputStream out(String topic) throws IOException {
        OutputStream o = outs.get(topic);
        if (o == null) {
            o = Files.newOutputStream(outDir.resolve(topic + ".jsonl"));
            outs.put(topic, o);
        }
        return o;
    }

    void handleBatch(List<RecordChangeEvent<SourceRecord>> batch,
                     DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
            throws InterruptedException {
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try {
            for (RecordChangeEvent<SourceRecord> ev : batch) {
                SourceRecord r = ev.record();
                byte[] line = converter.fromConnectData(r.topic(), r.valueSchema(), r.value());
                OutputStream o = out(r.topic());
                o.write(line == null ? TOMBSTONE : line);
                o.write(NEWLINE);
                if (producer != null) {
                    byte[] key = keyConverter.fromConnectData(r.topic(), r.keySchema(), r.key());
                    acks.add(producer.send(new ProducerRecord<>(r.topic(), key, line)));
                }
            }
            for (OutputStream o : outs.values()) {
                o.flush();
            }
            if (producer != null) {
                producer.flush();
                for (Future<RecordMetadata> f : acks) {
                    f.get();
                }
            }
        } catch (IOException e) {
            throw new RuntimeException("writing " + outDir + ": " + e, e);
        } catch (ExecutionException e) {
            throw new RuntimeException("producing to Kafka: " + e.getCause(), e);
        }
        for (RecordChangeEvent<SourceRecord> ev : batch) {
            committer.markProcessed(ev);
        }
        if (!batch.isEmpty()) {
            lastRecordNanos.set(System.nanoTime());
        }
        written.addAndGet(batch.size());
        committer.markBatchFinished();
    }

    void closeAll() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(10));
        }
        for (OutputStream o : outs.values()) {
            try {
                o.close();
            } catch (IOException e) {
                System.err.println("DebeziumToJsonl: closing an output: " + e);
            }
        }
    }

    /** Closes the engine; one that already stopped (on an error) says so by
     *  throwing, which is not news here. */
    private static void closeQuietly(DebeziumEngine<?> engine) {
        try {
            engine.close();
        } catch (IOException | RuntimeException e) {
            System.err.println("DebeziumToJsonl: closing the engine: " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: DebeziumToJsonl CONNECTOR.properties OUT_DIR IDLE_S");
            System.exit(2);
        }
        Properties props = new Properties();
        try (InputStream in = new FileInputStream(args[0])) {
            props.load(in);
        }
        Path outDir = Paths.get(args[1]);
        Files.createDirectories(outDir);
        long idleS = Long.parseLong(args[2]);

        DebeziumToJsonl sink = new DebeziumToJsonl(outDir, props);
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<String> failure = new AtomicReference<>();
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine =
            DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(props)
                .notifying(sink::handleBatch)
                .using((success, message, error) -> {
                    if (!success) {
                        failure.set(message + (error != null ? ": " + error : ""));
                    }
                    done.countDown();
                })
                .build();

        ExecutorService exec = Executors.newSingleThreadExecutor();
        exec.execute(engine);
        // SIGTERM/SIGINT: close the engine (it commits the offsets of the
        // records handed to us) before the JVM goes.
        AtomicBoolean signalled = new AtomicBoolean();
        Thread hook = new Thread(() -> {
            signalled.set(true);
            closeQuietly(engine);
            try {
                done.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sink.closeAll();
        });
        Runtime.getRuntime().addShutdownHook(hook);

        while (!done.await(200, TimeUnit.MILLISECONDS)) {
            long idleNanos = System.nanoTime() - sink.lastRecordNanos.get();
            boolean started = sink.written.get() > 0;
            if (idleS > 0 && started && idleNanos > TimeUnit.SECONDS.toNanos(idleS)) {
                System.err.println("DebeziumToJsonl: " + idleS + " s without a record, stopping");
                break;
            }
        }
        if (signalled.get()) {
            // the shutdown hook closes everything; the JVM then exits with
            // the signal's status (halting here would turn it into 0)
            Thread.sleep(Long.MAX_VALUE);
        }
        closeQuietly(engine);
        done.await(30, TimeUnit.SECONDS);
        exec.shutdownNow();
        sink.closeAll();
        System.err.println("DebeziumToJsonl: " + sink.written.get() + " records written");
        if (failure.get() != null) {
            System.err.println("DebeziumToJsonl: engine failed: " + failure.get());
            Runtime.getRuntime().halt(1);
        }
        Runtime.getRuntime().halt(0);
    }
}
