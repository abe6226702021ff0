using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Reweighting.Cli.Hosting;

/// <summary>Hands a service options built in code instead of bound from configuration (the services' options are
/// immutable records, so <c>Configure&lt;T&gt;(o =&gt; ...)</c> cannot set them): a misspelt setting is a compile error,
/// not a key nobody reads.</summary>
internal static class FixedOptions
{
    /// <summary>Makes <paramref name="value"/> what <c>IOptions&lt;T&gt;</c>, <c>IOptionsMonitor&lt;T&gt;</c> and
    /// start-up validation see, in place of what the service's <c>AddXxx</c> binds; the validators it registered for
    /// <typeparamref name="T"/> still check it.</summary>
    public static IServiceCollection UseOptions<T>(this IServiceCollection services, T value) where T : class
    {
        // A closed registration wins over the open-generic OptionsFactory<> that AddOptions adds.
        services.AddSingleton<IOptionsFactory<T>>(sp => new Factory<T>(value, sp.GetServices<IValidateOptions<T>>()));
        return services;
    }

    private sealed class Factory<T>(T value, IEnumerable<IValidateOptions<T>> validations) : IOptionsFactory<T> where T : class
    {
        public T Create(string name)
        {
            var failures = validations.Select(v => v.Validate(name, value)).Where(r => r.Failed).SelectMany(r => r.Failures ?? [r.FailureMessage ?? "invalid"]).ToList();
            if (failures.Count > 0) throw new OptionsValidationException(name, typeof(T), failures);
            return value;
        }
    }
}
