<?php
/**
 * What readers see, in the newsroom's language without a build step: WordPress 6.1 reads only
 * compiled .mo files, so the reader-facing strings of this plugin come with PHP tables
 * (languages/<lang>.php) for Georgian, Armenian, Azerbaijani and Russian, the backend's own words.
 * A .mo file in languages/ (membership-access-<locale>.mo) takes precedence, as WordPress does it.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Translations
{
    /** @var array<string, string>|null */
    private static ?array $table = null;

    public static function register(): void
    {
        add_action('init', static function (): void {
            load_plugin_textdomain(TEXT_DOMAIN, false, dirname(plugin_basename(__DIR__)) . '/languages');
        });
        add_filter('gettext_' . TEXT_DOMAIN, [self::class, 'translate'], 10, 2);
    }

    /** A string still in English after the .mo files, from this plugin's table for the locale. */
    public static function translate(string $translation, string $text): string
    {
        if ($translation !== $text) {
            return $translation;
        }
        if (self::$table === null) {
            $language = strtolower(strtok(determine_locale(), '_') ?: 'en');
            $file = dirname(__DIR__) . '/languages/' . $language . '.php';
            $loaded = preg_match('/^[a-z]{2,3}$/', $language) && is_file($file) ? include $file : [];
            self::$table = is_array($loaded) ? $loaded : [];
        }
        return self::$table[$text] ?? $translation;
    }
}
