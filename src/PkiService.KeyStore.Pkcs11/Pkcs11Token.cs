using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace PkiService.KeyStore.Pkcs11;

/// <summary>
/// One logged-in token of a PKCS#11 module, and a bounded pool of its sessions. PKCS#11 sessions are not thread-safe
/// (PKCS#11 v2.40 section 2.6.7: one operation at a time per session, else <c>CKR_OPERATION_ACTIVE</c>), so every
/// operation takes a session from the pool and gives it back; at most <see cref="Pkcs11Options.SessionPoolSize"/>
/// exist, further callers wait. When the module reports a lost session or device, the pool is dropped, the token found
/// again by label, the user logged in again and the operation retried once.
/// </summary>
internal sealed partial class Pkcs11Token : IDisposable
{
    // C_Initialize and C_Finalize act on the whole process (PKCS#11 v2.40 5.4): two providers on one module must share
    // one initialisation, and the module is finalised only when the last of them is disposed.
    private static readonly Dictionary<string, SharedModule> Modules = new(StringComparer.Ordinal);
    private static readonly Lock ModulesLock = new();

    static Pkcs11Token()
    {
        // Pkcs11Interop 5.x imports dlopen/dlsym from "libdl", which resolves to libdl.so: that name exists only with
        // libc6-dev installed. glibc ships libdl.so.2 (and, from 2.34 on, the functions in libc itself), so map the
        // name to it, as the Pkcs11Interop maintainer advises (Pkcs11Interop issue 239).
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(IPkcs11Library).Assembly, ResolveLibdl);
        }
        catch (InvalidOperationException)
        {
            // the host set a resolver for Pkcs11Interop already
        }
    }

    private readonly string _libraryPath;
    private readonly string _tokenLabel;
    private readonly string _pin;
    private readonly SharedModule _module;
    private readonly SemaphoreSlim _sessionSlots;
    private readonly ConcurrentBag<PooledSession> _idle = [];
    private readonly ConcurrentDictionary<string, IObjectHandle> _privateKeyHandles = new(StringComparer.Ordinal);
    private readonly Lock _reconnectLock = new();
    private readonly ILogger _logger;
    private ISlot _slot;
    // Login state belongs to the application, not to one session (PKCS#11 v2.40 5.6, C_Login), and ends when the
    // application's last session on the token closes: this session stays open so the pooled ones remain logged in.
    private ISession _loginSession;
    private int _generation;
    private int _disposed;

    private Pkcs11Token(Pkcs11Options options, SharedModule module, ILogger logger)
    {
        _libraryPath = options.Library;
        _tokenLabel = options.TokenLabel;
        _pin = options.Pin;
        _module = module;
        _logger = logger;
        _sessionSlots = new SemaphoreSlim(options.SessionPoolSize, options.SessionPoolSize);
        (_slot, _loginSession) = Connect();
    }

    /// <summary>The Pkcs11Interop factories for attributes and mechanisms.</summary>
    public Pkcs11InteropFactories Factories => _module.Factories;

    /// <summary>The token's label (<c>Pkcs11:TokenLabel</c>).</summary>
    public string Label => _tokenLabel;

    /// <summary>Loads the module, finds the token and logs in; one clear <see cref="Pkcs11ConfigurationException"/> otherwise.</summary>
    public static Pkcs11Token Open(Pkcs11Options options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Library))
        {
            throw new Pkcs11ConfigurationException("Pkcs11:Library is not set; give the path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).");
        }
        if (string.IsNullOrWhiteSpace(options.TokenLabel))
        {
            throw new Pkcs11ConfigurationException("Pkcs11:TokenLabel is not set; give the label of the token that holds the CA keys.");
        }
        if (string.IsNullOrEmpty(options.Pin))
        {
            throw new Pkcs11ConfigurationException($"Pkcs11:Pin is not set; give the user PIN of token '{options.TokenLabel}' (from the environment or a secret store).");
        }
        if (options.SessionPoolSize < 1)
        {
            throw new Pkcs11ConfigurationException($"Pkcs11:SessionPoolSize is {options.SessionPoolSize}; use 1 or more.");
        }
        var module = SharedModule.Acquire(options.Library);
        try
        {
            return new Pkcs11Token(options, module, logger);
        }
        catch
        {
            module.Release();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on a pooled session; when the module reports the session or device lost,
    /// reconnects and runs it once more.
    /// </summary>
    public T Run<T>(Func<ISession, T> operation)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var generation = Volatile.Read(ref _generation);
        try
        {
            return WithSession(operation);
        }
        catch (Pkcs11Exception exception) when (IsConnectionLost(exception.RV))
        {
            LogReconnecting(_logger, _tokenLabel, exception.RV.ToString());
            Reconnect(generation);
            return WithSession(operation);
        }
    }

    /// <summary>The private key object with <c>CKA_ID</c> <paramref name="id"/>, its handle cached until the next reconnect.</summary>
    public IObjectHandle PrivateKey(ISession session, byte[] id, string label)
    {
        var key = Convert.ToHexString(id);
        if (_privateKeyHandles.TryGetValue(key, out var handle))
        {
            return handle;
        }
        var found = session.FindAllObjects(
        [
            Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
            Factories.ObjectAttributeFactory.Create(CKA.CKA_ID, id),
        ]);
        if (found.Count == 0)
        {
            throw new InvalidOperationException($"Token '{_tokenLabel}' holds no private key '{label}' (CKA_ID {key}) any more.");
        }
        return _privateKeyHandles[key] = found[0];
    }

    /// <summary>How many times the token was reconnected since it was opened.</summary>
    internal int Reconnects => Volatile.Read(ref _generation);

    /// <summary>Closes every session of this application on the token (C_CloseAllSessions), as a lost device would; for tests.</summary>
    internal void CloseAllSessions() => _slot.CloseAllSessions();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        while (_idle.TryTake(out var pooled))
        {
            CloseQuietly(pooled.Session);
        }
        CloseQuietly(_loginSession);
        _sessionSlots.Dispose();
        _module.Release();
    }

    private T WithSession<T>(Func<ISession, T> operation)
    {
        _sessionSlots.Wait();
        PooledSession? pooled = null;
        try
        {
            if (!_idle.TryTake(out pooled))
            {
                // A session opened after C_Login is logged in already (the login is the application's).
                pooled = new PooledSession(_slot.OpenSession(SessionType.ReadWrite), Volatile.Read(ref _generation));
            }
            return operation(pooled.Session);
        }
        catch (Pkcs11Exception exception) when (IsConnectionLost(exception.RV))
        {
            if (pooled is not null)
            {
                CloseQuietly(pooled.Session);
                pooled = null;
            }
            throw;
        }
        finally
        {
            if (pooled is not null)
            {
                if (pooled.Generation == Volatile.Read(ref _generation) && Volatile.Read(ref _disposed) == 0)
                {
                    _idle.Add(pooled);
                }
                else
                {
                    CloseQuietly(pooled.Session);
                }
            }
            if (Volatile.Read(ref _disposed) == 0)
            {
                _sessionSlots.Release();
            }
        }
    }

    private void Reconnect(int observedGeneration)
    {
        lock (_reconnectLock)
        {
            if (Volatile.Read(ref _generation) != observedGeneration)
            {
                return; // another caller reconnected since this one's operation started
            }
            while (_idle.TryTake(out var pooled))
            {
                CloseQuietly(pooled.Session);
            }
            CloseQuietly(_loginSession);
            try
            {
                _slot.CloseAllSessions();
            }
            catch (Pkcs11Exception)
            {
                // the device may be gone; the slot is looked up again below
            }
            _privateKeyHandles.Clear();
            (_slot, _loginSession) = Connect();
            Interlocked.Increment(ref _generation);
            LogReconnected(_logger, _tokenLabel);
        }
    }

    /// <summary>Finds the token by label and logs in as the user.</summary>
    private (ISlot Slot, ISession Session) Connect()
    {
        List<ISlot> slots;
        try
        {
            slots = _module.Library.GetSlotList(SlotsType.WithTokenPresent);
        }
        catch (Pkcs11Exception exception)
        {
            throw new Pkcs11ConfigurationException($"Pkcs11:Library: the PKCS#11 module '{_libraryPath}' cannot list its tokens ({exception.RV}).", exception);
        }
        var labels = new List<string>();
        ISlot? slot = null;
        foreach (var candidate in slots)
        {
            // CK_TOKEN_INFO.label is blank-padded to 32 bytes; Pkcs11Interop trims it.
            var label = candidate.GetTokenInfo().Label.Trim();
            if (label.Length > 0)
            {
                labels.Add(label); // a slot with an uninitialised token (SoftHSM2's free slot) has no label
            }
            if (slot is null && string.Equals(label, _tokenLabel, StringComparison.Ordinal))
            {
                slot = candidate;
            }
        }
        if (slot is null)
        {
            var found = labels.Count == 0 ? "none" : string.Join(", ", labels.Select(l => $"'{l}'"));
            throw new Pkcs11ConfigurationException(
                $"Pkcs11:TokenLabel: no token labelled '{_tokenLabel}' in the PKCS#11 module '{_libraryPath}' (tokens found: {found}).");
        }
        var session = slot.OpenSession(SessionType.ReadWrite);
        try
        {
            session.Login(CKU.CKU_USER, _pin);
        }
        catch (Pkcs11Exception exception) when (exception.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            // another provider in this process on the same token logged in already: the login is the application's
        }
        catch (Pkcs11Exception exception)
        {
            CloseQuietly(session);
            throw exception.RV switch
            {
                CKR.CKR_PIN_INCORRECT => new Pkcs11ConfigurationException($"Pkcs11:Pin is wrong for token '{_tokenLabel}' (CKR_PIN_INCORRECT).", exception),
                CKR.CKR_PIN_LOCKED => new Pkcs11ConfigurationException(
                    $"Pkcs11:Pin: the user PIN of token '{_tokenLabel}' is locked after too many wrong tries (CKR_PIN_LOCKED); the security officer must reset it.", exception),
                CKR.CKR_USER_PIN_NOT_INITIALIZED => new Pkcs11ConfigurationException(
                    $"Pkcs11:Pin: token '{_tokenLabel}' has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED); initialise it (softhsm2-util --init-token ... --pin).", exception),
                _ => new Pkcs11ConfigurationException($"Pkcs11:Pin: logging in to token '{_tokenLabel}' failed ({exception.RV}).", exception),
            };
        }
        return (slot, session);
    }

    private static IntPtr ResolveLibdl(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == "libdl" && OperatingSystem.IsLinux())
        {
            foreach (var candidate in new[] { "libdl.so.2", "libc.so.6" })
            {
                if (NativeLibrary.TryLoad(candidate, out var handle))
                {
                    return handle;
                }
            }
        }
        return IntPtr.Zero; // the runtime's default search
    }

    /// <summary>Return values after which a session (or the whole login) is gone, and reconnecting may help.</summary>
    private static bool IsConnectionLost(CKR rv) => rv is CKR.CKR_SESSION_HANDLE_INVALID or CKR.CKR_SESSION_CLOSED or CKR.CKR_DEVICE_REMOVED
        or CKR.CKR_TOKEN_NOT_PRESENT or CKR.CKR_USER_NOT_LOGGED_IN or CKR.CKR_DEVICE_ERROR;

    private static void CloseQuietly(ISession session)
    {
        try
        {
            session.Dispose();
        }
        catch (Pkcs11Exception)
        {
            // closing a session the module already dropped
        }
    }

    [LoggerMessage(EventId = 7101, EventName = "Pkcs11Reconnecting", Level = LogLevel.Warning,
        Message = "PKCS#11 token {TokenLabel} reported {ReturnValue}; reopening its sessions and logging in again")]
    private static partial void LogReconnecting(ILogger logger, string tokenLabel, string returnValue);

    [LoggerMessage(EventId = 7102, EventName = "Pkcs11Reconnected", Level = LogLevel.Information,
        Message = "PKCS#11 token {TokenLabel} reconnected")]
    private static partial void LogReconnected(ILogger logger, string tokenLabel);

    private sealed record PooledSession(ISession Session, int Generation);

    /// <summary>A module loaded and initialised once per process and path, finalised when its last user releases it.</summary>
    private sealed class SharedModule
    {
        private int _references;

        private SharedModule(string path, Pkcs11InteropFactories factories, IPkcs11Library library)
        {
            Path = path;
            Factories = factories;
            Library = library;
        }

        public string Path { get; }

        public Pkcs11InteropFactories Factories { get; }

        public IPkcs11Library Library { get; }

        public static SharedModule Acquire(string path)
        {
            lock (ModulesLock)
            {
                if (!Modules.TryGetValue(path, out var module))
                {
                    if (System.IO.Path.IsPathRooted(path) && !File.Exists(path))
                    {
                        throw new Pkcs11ConfigurationException($"Pkcs11:Library: no PKCS#11 module at '{path}' (file not found).");
                    }
                    var factories = new Pkcs11InteropFactories();
                    IPkcs11Library library;
                    try
                    {
                        library = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, path, AppType.MultiThreaded);
                    }
                    catch (Exception exception) when (exception is UnmanagedException or LibraryArchitectureException or Pkcs11Exception
                        or DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
                    {
                        throw new Pkcs11ConfigurationException(
                            $"Pkcs11:Library: cannot load the PKCS#11 module '{path}' ({exception.Message.ReplaceLineEndings(" ")}).", exception);
                    }
                    module = new SharedModule(path, factories, library);
                    Modules[path] = module;
                }
                module._references++;
                return module;
            }
        }

        public void Release()
        {
            lock (ModulesLock)
            {
                if (--_references == 0)
                {
                    Modules.Remove(Path);
                    Library.Dispose(); // C_Finalize, then unloads the module
                }
            }
        }
    }
}
