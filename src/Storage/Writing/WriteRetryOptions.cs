using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Reweighting.Storage.Writing;

/// <summary>Bounds of the retry on transient database failures: exponential back-off with jitter.</summary>
public sealed record WriteRetryOptions
{
    /// <summary>Retries after the first try; 0 disables retrying.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>Delay before the first retry; doubles (with jitter) each time.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Ceiling of any single delay.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Builds the Polly pipeline that retries <see cref="TransientFailures"/> and logs every retry.</summary>
    public ResiliencePipeline BuildPipeline(ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder();
        if (MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(TransientFailures.IsTransient),
                MaxRetryAttempts = MaxRetries,
                Delay = BaseDelay,
                MaxDelay = MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    logger.LogWarning(args.Outcome.Exception,
                        "Transient database failure on attempt {Attempt}; retrying in {Delay} ms",
                        args.AttemptNumber + 1, (int)args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }
        return builder.Build();
    }
}
