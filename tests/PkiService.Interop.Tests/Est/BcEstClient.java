// An EST client (RFC 7030) built on Bouncy Castle Java's org.bouncycastle.est, as a device would use it. The interop
// tests (BouncyCastleEstTests.cs) compile it with javac against Debian's bcpkix/bcprov/bcutil jars and run one
// operation per process against the real PkiService. It writes PEM files into --out and prints one result per line
// ("NAME value"); an HTTP refusal prints "ERROR status=<code> ..." and "ERROR-BODY <text>" and exits 3.
//
//   cacerts     --server host:port [--label l] (--trust root.pem | --bootstrap) --out dir
//   csrattrs    --server host:port [--label l] --trust root.pem
//   enroll      --server host:port [--label l] --trust root.pem --token t [--user u] --cn name [--san URI:x|DNS:x|IP:x]
//               [--key-type ec|rsa] --out dir --name file
//   reenroll    --server host:port [--label l] --trust root.pem --cert current.pem --cert-key current.key
//               [--chain issuing.pem] [--key-type ec|rsa] --out dir --name file
//   serverkeygen --server host:port [--label l] --trust root.pem --token t [--user u] --cn name [--san URI:x|DNS:x|IP:x]
//               [--key-type ec|rsa] --out dir --name file
//
// Set -Dorg.bouncycastle.debug.est=all to have BC print what it sends and reads.

import java.io.FileReader;
import java.io.FileWriter;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.CSRAttributesResponse;
import org.bouncycastle.est.CSRRequestResponse;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.JcaJceUtils;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.util.encoders.Hex;

public final class BcEstClient
{
    /** The realm PkiService names in its WWW-Authenticate challenge; HttpAuth refuses to answer any other. */
    private static final String REALM = "PkiService EST";

    private static final int REFUSED = 3;

    private final Map<String, String> options;

    private BcEstClient(Map<String, String> options)
    {
        this.options = options;
    }

    public static void main(String[] args) throws Exception
    {
        if (args.length == 0)
        {
            System.err.println("usage: BcEstClient cacerts|csrattrs|enroll|reenroll|serverkeygen --option value ...");
            System.exit(2);
        }
        Map<String, String> options = new HashMap<>();
        for (int i = 1; i < args.length; i++)
        {
            if (!args[i].startsWith("--"))
            {
                throw new IllegalArgumentException("expected --option, found '" + args[i] + "'");
            }
            if (args[i].equals("--bootstrap"))
            {
                options.put("bootstrap", "true");
                continue;
            }
            if (i + 1 >= args.length)
            {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            options.put(args[i].substring(2), args[++i]);
        }
        // JcaJceUtils.getCertPathTrustManager builds the server's path with the "BC" provider.
        Security.addProvider(new BouncyCastleProvider());
        BcEstClient client = new BcEstClient(options);
        try
        {
            switch (args[0])
            {
            case "cacerts":
                client.caCerts();
                break;
            case "csrattrs":
                client.csrAttributes();
                break;
            case "enroll":
                client.enroll(false);
                break;
            case "reenroll":
                client.reenroll();
                break;
            case "serverkeygen":
                client.enroll(true);
                break;
            default:
                throw new IllegalArgumentException("unknown command '" + args[0] + "'");
            }
        }
        catch (ESTException refused)
        {
            // What BC reports for a non-2xx answer: the status and (up to 8 KiB of) the body it read.
            System.out.println("ERROR status=" + refused.getStatusCode() + " message=" + oneLine(refused.getMessage()));
            InputStream body = refused.getBody();
            if (body != null)
            {
                System.out.println("ERROR-BODY " + oneLine(new String(body.readAllBytes(), StandardCharsets.UTF_8)));
            }
            System.out.flush();
            System.exit(REFUSED);
        }
        System.out.println("STATUS ok");
    }

    /** GET cacerts: with the pinned root as the only trust anchor, or (--bootstrap) trusting any server, RFC 7030 4.1.1. */
    private void caCerts() throws Exception
    {
        boolean bootstrap = options.containsKey("bootstrap");
        X509TrustManager[] trust = bootstrap ? new X509TrustManager[] { JcaJceUtils.getTrustAllTrustManager() } : pinnedRoot();
        CACertsResponse response = service(trust, null).getCACerts();
        System.out.println("TRUSTED " + response.isTrusted());
        if (!response.hasCertificates())
        {
            throw new IllegalStateException("cacerts returned no certificates");
        }
        int n = 0;
        for (X509CertificateHolder holder : ESTService.storeToArray(response.getCertificateStore()))
        {
            Path file = out("cacerts-" + (++n) + ".pem");
            writePem(file, holder);
            System.out.println("CACERT " + file + " sha256=" + Hex.toHexString(sha256(holder.getEncoded())) + " subject=" + holder.getSubject());
        }
        // hasCRLs() is true for an empty CRL set too: count them.
        System.out.println("CRLS " + (response.hasCRLs() ? response.getCrlStore().getMatches(null).size() : 0));
    }

    /** GET csrattrs: what the server asks for in a CSR (RFC 7030 4.5). */
    private void csrAttributes() throws Exception
    {
        CSRRequestResponse response = service(pinnedRoot(), null).getCSRAttributes();
        if (!response.hasAttributesResponse())
        {
            System.out.println("CSRATTRS none");
            return;
        }
        CSRAttributesResponse attributes = response.getAttributesResponse();
        System.out.println("CSRATTRS empty=" + attributes.isEmpty());
        for (ASN1ObjectIdentifier oid : attributes.getRequirements())
        {
            System.out.println("REQUIREMENT " + oid.getId() + " attribute=" + attributes.isAttribute(oid));
        }
        for (AttrOrOID item : CsrAttrs.getInstance(attributes.getEncoded()).getAttrOrOIDs())
        {
            if (item.isOid())
            {
                System.out.println("OID " + item.getOid().getId());
            }
            else
            {
                StringBuilder values = new StringBuilder();
                for (ASN1Encodable value : item.getAttribute().getAttributeValues())
                {
                    values.append(' ').append(value instanceof ASN1ObjectIdentifier ? ((ASN1ObjectIdentifier)value).getId() : value.toString());
                }
                System.out.println("ATTRIBUTE " + item.getAttribute().getAttrType().getId() + values);
            }
        }
    }

    /** POST simpleenroll (or serverkeygen) with HTTP Basic: BC first sends no credentials and answers the 401 challenge. */
    private void enroll(boolean serverKeyGeneration) throws Exception
    {
        KeyPair key = newKey();
        PKCS10CertificationRequest csr = csr(key, new X500Name("CN=" + required("cn")), subjectAltName(options.get("san")));
        HttpAuth basic = new HttpAuth(REALM, options.getOrDefault("user", "bc-est-client"), required("token").toCharArray());
        ESTService service = service(pinnedRoot(), null);
        EnrollmentResponse response = serverKeyGeneration
            ? service.simpleEnrollWithServersideCreation(csr, basic)
            : service.simpleEnroll(false, csr, basic);
        if (serverKeyGeneration)
        {
            PrivateKeyInfo made = response.getPrivateKeyInfo();
            System.out.println("SERVER-KEY " + made.getPrivateKeyAlgorithm().getAlgorithm().getId());
            report(response, jsseKey(made));
        }
        else
        {
            report(response, key.getPrivate());
        }
    }

    /**
     * POST simplereenroll, authenticated only by the TLS client certificate (RFC 7030 3.3.2): the JSSE key manager
     * presents the current certificate; the CSR has its subject and SANs (RFC 7030 4.2.2) and a new key.
     */
    private void reenroll() throws Exception
    {
        X509CertificateHolder current = readCertificate(required("cert"));
        PrivateKey currentKey = readKey(required("cert-key"));
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(new JcaX509CertificateConverter().getCertificate(current));
        if (options.containsKey("chain"))
        {
            chain.add(new JcaX509CertificateConverter().getCertificate(readCertificate(options.get("chain"))));
        }
        Extension sans = current.getExtension(Extension.subjectAlternativeName);
        KeyPair key = newKey();
        PKCS10CertificationRequest csr = csr(key, current.getSubject(), sans == null ? null : GeneralNames.getInstance(sans.getParsedValue()));
        EnrollmentResponse response = service(pinnedRoot(), new SingleIdentityKeyManager(currentKey, chain.toArray(new X509Certificate[0])))
            .simpleEnroll(true, csr, null);
        report(response, key.getPrivate());
    }

    private ESTService service(X509TrustManager[] trust, X509ExtendedKeyManager identity)
    {
        JsseESTServiceBuilder builder = new JsseESTServiceBuilder(required("server"), trust);
        builder.withTimeout(30_000);
        if (identity != null)
        {
            builder.withKeyManager(identity);
        }
        if (options.containsKey("label"))
        {
            builder.withLabel(options.get("label"));
        }
        return builder.build();
    }

    /** The root fetched and pinned by the test is the only trust anchor: the server's chain must lead to it. */
    private X509TrustManager[] pinnedRoot() throws Exception
    {
        X509Certificate root = new JcaX509CertificateConverter().getCertificate(readCertificate(required("trust")));
        return JcaJceUtils.getCertPathTrustManager(Collections.singleton(new TrustAnchor(root, null)), null);
    }

    private void report(EnrollmentResponse response, PrivateKey key) throws Exception
    {
        if (!response.isCompleted())
        {
            throw new IllegalStateException("the server deferred the enrollment (202); PkiService answers at once");
        }
        X509CertificateHolder[] issued = ESTService.storeToArray(response.getStore());
        System.out.println("CERTIFICATES " + issued.length);
        X509CertificateHolder certificate = issued[0];
        Path certificateFile = out(required("name") + ".pem");
        Path keyFile = out(required("name") + ".key");
        writePem(certificateFile, certificate);
        writePem(keyFile, key);
        System.out.println("CERTIFICATE " + certificateFile);
        System.out.println("KEY " + keyFile);
        System.out.println("SERIAL " + Hex.toHexString(certificate.getSerialNumber().toByteArray()).toUpperCase());
        System.out.println("SUBJECT " + certificate.getSubject());
        System.out.println("ISSUER " + certificate.getIssuer());
    }

    private KeyPair newKey() throws Exception
    {
        String type = options.getOrDefault("key-type", "ec");
        KeyPairGenerator generator;
        switch (type)
        {
        case "ec":
            generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            break;
        case "rsa":
            generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            break;
        default:
            throw new IllegalArgumentException("--key-type is ec or rsa, not '" + type + "'");
        }
        return generator.generateKeyPair();
    }

    /** One SAN in openssl's notation: URI:spiffe://..., DNS:host or IP:address. */
    private static GeneralNames subjectAltName(String san)
    {
        if (san == null)
        {
            return null;
        }
        int colon = san.indexOf(':');
        String type = colon < 0 ? "" : san.substring(0, colon);
        String value = san.substring(colon + 1);
        switch (type)
        {
        case "URI":
            return new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, value));
        case "DNS":
            return new GeneralNames(new GeneralName(GeneralName.dNSName, value));
        case "IP":
            return new GeneralNames(new GeneralName(GeneralName.iPAddress, value));
        default:
            throw new IllegalArgumentException("--san is URI:..., DNS:... or IP:..., not '" + san + "'");
        }
    }

    /** A PKCS#10 CSR signed with the new key, the SANs in an extensionRequest attribute (RFC 2985 5.4.2). */
    private static PKCS10CertificationRequest csr(KeyPair key, X500Name subject, GeneralNames sans) throws Exception
    {
        JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(subject, key.getPublic());
        if (sans != null)
        {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, false, sans);
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        }
        String algorithm = key.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return builder.build(new JcaContentSignerBuilder(algorithm).build(key.getPrivate()));
    }

    private Path out(String file)
    {
        return Paths.get(required("out"), file);
    }

    private String required(String option)
    {
        String value = options.get(option);
        if (value == null)
        {
            throw new IllegalArgumentException("--" + option + " is required");
        }
        return value;
    }

    private static X509CertificateHolder readCertificate(String file) throws Exception
    {
        try (Reader reader = new FileReader(file); PEMParser parser = new PEMParser(reader))
        {
            Object pem = parser.readObject();
            if (!(pem instanceof X509CertificateHolder))
            {
                throw new IllegalArgumentException(file + " holds no PEM certificate");
            }
            return (X509CertificateHolder)pem;
        }
    }

    private static PrivateKey readKey(String file) throws Exception
    {
        try (Reader reader = new FileReader(file); PEMParser parser = new PEMParser(reader))
        {
            Object pem = parser.readObject();
            if (!(pem instanceof PrivateKeyInfo))
            {
                throw new IllegalArgumentException(file + " holds no PEM PKCS#8 private key");
            }
            return jsseKey((PrivateKeyInfo)pem);
        }
    }

    /**
     * The key as the JDK's own providers make it. BC's JcaPEMKeyConverter makes EC keys of BC's provider, named
     * "ECDSA", and JSSE then finds no client authentication scheme for them ("private key algorithm ECDSA not in
     * request list") and sends no certificate.
     */
    private static PrivateKey jsseKey(PrivateKeyInfo info) throws Exception
    {
        ASN1ObjectIdentifier algorithm = info.getPrivateKeyAlgorithm().getAlgorithm();
        String name = algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey) ? "EC"
            : algorithm.equals(PKCSObjectIdentifiers.rsaEncryption) ? "RSA"
            : algorithm.getId();
        return KeyFactory.getInstance(name).generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    }

    private static void writePem(Path file, Object value) throws Exception
    {
        try (Writer writer = new FileWriter(file.toFile()); JcaPEMWriter pem = new JcaPEMWriter(writer))
        {
            // A private key is written as PKCS#8 ("BEGIN PRIVATE KEY"), which openssl and readKey both read.
            pem.writeObject(value instanceof PrivateKey
                ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator((PrivateKey)value, null)
                : value);
        }
    }

    private static byte[] sha256(byte[] data) throws Exception
    {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    private static String oneLine(String text)
    {
        return text == null ? "" : text.replace('\r', ' ').replace('\n', ' ').trim();
    }

    /**
     * Presents one certificate whatever the server asks for. JSSE's default key manager only offers a certificate
     * whose issuer is in the server's CertificateRequest list (RFC 8446 4.2.4), and a server may send no list or
     * another one; a device with one identity offers that identity, and the server decides.
     */
    private static final class SingleIdentityKeyManager extends X509ExtendedKeyManager
    {
        private static final String ALIAS = "est-client";

        private final PrivateKey key;
        private final X509Certificate[] chain;

        SingleIdentityKeyManager(PrivateKey key, X509Certificate[] chain)
        {
            this.key = key;
            this.chain = chain;
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket)
        {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine)
        {
            return ALIAS;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers)
        {
            return new String[] { ALIAS };
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers)
        {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket)
        {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias)
        {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias)
        {
            return ALIAS.equals(alias) ? key : null;
        }
    }
}
