namespace PkiService.Api.Tests.Support;

/// <summary>
/// An exception and every exception inside it, outermost first: the inner exception chain, and all inner exceptions of
/// an aggregate among them (each once).
/// </summary>
public static class ExceptionChain
{
    public static IEnumerable<Exception> Of(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
            if (error is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Of))
                {
                    yield return inner;
                }
                yield break; // its InnerException is the first of those
            }
        }
    }
}
