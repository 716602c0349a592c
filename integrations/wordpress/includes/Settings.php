<?php
/**
 * The plugin's settings (Settings → Membership): the backend's address, its API key, how much of
 * a members-only post everyone sees, and the default fundraiser of the widget.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Settings
{
    public const OPTION = 'membership_access';
    public const PAGE = 'membership-access';
    private const DEFAULTS = [
        'backend_url' => '',
        'api_key' => '',
        'teaser_paragraphs' => 2,
        'default_fundraiser' => '',
        // Bumped on every save: cached rule answers carry it, so a save forgets them all.
        'generation' => 1,
    ];

    /** @var array<string, mixed>|null */
    private static ?array $values = null;

    public static function register(): void
    {
        add_action('admin_init', [self::class, 'register_setting']);
        add_action('admin_menu', [self::class, 'add_page']);
        add_action('update_option_' . self::OPTION, [self::class, 'forget']);
        add_action('add_option_' . self::OPTION, [self::class, 'forget']);
    }

    /** @return array<string, mixed> */
    public static function all(): array
    {
        if (self::$values === null) {
            $stored = get_option(self::OPTION, []);
            self::$values = array_merge(self::DEFAULTS, is_array($stored) ? $stored : []);
        }
        return self::$values;
    }

    /** The backend's public address as typed (its BASE_URL), without a trailing slash; '' when unset. */
    public static function backend_url(): string
    {
        return rtrim((string) self::all()['backend_url'], '/');
    }

    public static function api_key(): string
    {
        return (string) self::all()['api_key'];
    }

    public static function teaser_paragraphs(): int
    {
        return (int) self::all()['teaser_paragraphs'];
    }

    public static function default_fundraiser(): string
    {
        return (string) self::all()['default_fundraiser'];
    }

    public static function generation(): int
    {
        return (int) self::all()['generation'];
    }

    /** After a save: read the option afresh and drop the cached key set. */
    public static function forget(): void
    {
        self::$values = null;
        KeySet::forget();
    }

    public static function register_setting(): void
    {
        register_setting(self::PAGE, self::OPTION, [
            'type' => 'object',
            'sanitize_callback' => [self::class, 'sanitize'],
            'default' => self::DEFAULTS,
            'show_in_rest' => false,
        ]);
    }

    /**
     * Check what the form sent; a bad value keeps the saved one and says why.
     *
     * @param mixed $input
     * @return array<string, mixed>
     */
    public static function sanitize($input): array
    {
        $old = self::all();
        $input = is_array($input) ? wp_unslash($input) : [];
        $clean = $old;

        $url = trim((string) ($input['backend_url'] ?? ''));
        $parts = $url === '' ? null : wp_parse_url($url);
        if ($url === '') {
            $clean['backend_url'] = '';
        } elseif (
            !is_array($parts)
            || !in_array($parts['scheme'] ?? '', ['http', 'https'], true)
            || empty($parts['host'])
            || isset($parts['query']) || isset($parts['fragment']) || isset($parts['user'])
        ) {
            add_settings_error(self::OPTION, 'backend_url', __('The backend address must be an http:// or https:// address such as https://members.example.org.', TEXT_DOMAIN));
        } else {
            $clean['backend_url'] = rtrim(esc_url_raw($url, ['http', 'https']), '/');
        }

        $key = trim((string) ($input['api_key'] ?? ''));
        if (!empty($input['forget_api_key'])) {
            $clean['api_key'] = '';
        } elseif ($key !== '') {  // an empty field keeps the saved key: it is never shown again
            if (preg_match('/^mk_[A-Za-z0-9_-]{8,125}$/', $key)) {
                $clean['api_key'] = $key;
            } else {
                add_settings_error(self::OPTION, 'api_key', __('An API key starts with mk_ and has only letters, digits, - and _. The saved key was kept.', TEXT_DOMAIN));
            }
        }

        $teaser = filter_var($input['teaser_paragraphs'] ?? null, FILTER_VALIDATE_INT, ['options' => ['min_range' => 0, 'max_range' => 20]]);
        if ($teaser === false) {
            add_settings_error(self::OPTION, 'teaser_paragraphs', __('Paragraphs before the cut: a whole number from 0 to 20.', TEXT_DOMAIN));
        } else {
            $clean['teaser_paragraphs'] = $teaser;
        }

        $slug = trim((string) ($input['default_fundraiser'] ?? ''));
        if ($slug === '' || Fundraiser::valid_slug($slug)) {
            $clean['default_fundraiser'] = $slug;
        } else {
            add_settings_error(self::OPTION, 'default_fundraiser', __('A fundraiser slug has only lower-case letters, digits and hyphens.', TEXT_DOMAIN));
        }

        $clean['generation'] = (int) $old['generation'] + 1;
        return $clean;
    }

    public static function add_page(): void
    {
        add_options_page(
            __('Membership', TEXT_DOMAIN),
            __('Membership', TEXT_DOMAIN),
            'manage_options',
            self::PAGE,
            [self::class, 'render_page']
        );
    }

    public static function render_page(): void
    {
        if (!current_user_can('manage_options')) {
            return;
        }
        $values = self::all();
        $name = self::OPTION;
        $saved_key = self::api_key();
        ?>
<div class="wrap">
  <h1><?php esc_html_e('Membership', TEXT_DOMAIN); ?></h1>
  <?php // Settings → pages show their settings errors and "Settings saved." by themselves. ?>
  <p><?php esc_html_e('Which posts are members-only is decided by the access rules kept in your membership backend (Staff → Access rules). For each post this plugin sends its tags and categories as tag= and its address as article=, and caches the answer for five minutes.', TEXT_DOMAIN); ?></p>
  <form method="post" action="options.php">
    <?php settings_fields(self::PAGE); ?>
    <table class="form-table" role="presentation">
      <tr>
        <th scope="row"><label for="membership-access-backend-url"><?php esc_html_e('Backend address', TEXT_DOMAIN); ?></label></th>
        <td><input type="url" class="regular-text code" id="membership-access-backend-url" name="<?php echo esc_attr($name); ?>[backend_url]" value="<?php echo esc_attr((string) $values['backend_url']); ?>" placeholder="https://members.example.org" aria-describedby="membership-access-backend-url-help">
          <p class="description" id="membership-access-backend-url-help"><?php esc_html_e("Exactly as the backend's BASE_URL: access tokens name it as their issuer.", TEXT_DOMAIN); ?></p></td>
      </tr>
      <tr>
        <th scope="row"><label for="membership-access-api-key"><?php esc_html_e('API key', TEXT_DOMAIN); ?></label></th>
        <td><input type="password" class="regular-text code" id="membership-access-api-key" name="<?php echo esc_attr($name); ?>[api_key]" value="" autocomplete="off" aria-describedby="membership-access-api-key-help">
          <p class="description" id="membership-access-api-key-help"><?php
            if ($saved_key !== '') {
                /* translators: %s: the first characters of the saved API key */
                printf(esc_html__('A key is saved (%s…). Leave the field empty to keep it.', TEXT_DOMAIN), esc_html(substr($saved_key, 0, 10)));
            } else {
                esc_html_e('Made by an admin of the backend under Staff → API keys (mk_…).', TEXT_DOMAIN);
            }
          ?></p>
          <?php if ($saved_key !== '') : ?>
          <label><input type="checkbox" name="<?php echo esc_attr($name); ?>[forget_api_key]" value="1"> <?php esc_html_e('Remove the saved key', TEXT_DOMAIN); ?></label>
          <?php endif; ?></td>
      </tr>
      <tr>
        <th scope="row"><label for="membership-access-teaser"><?php esc_html_e('Paragraphs before the cut', TEXT_DOMAIN); ?></label></th>
        <td><input type="number" min="0" max="20" class="small-text" id="membership-access-teaser" name="<?php echo esc_attr($name); ?>[teaser_paragraphs]" value="<?php echo esc_attr((string) $values['teaser_paragraphs']); ?>" aria-describedby="membership-access-teaser-help">
          <p class="description" id="membership-access-teaser-help"><?php esc_html_e('What readers without access see of a members-only post: everything before its More block, or else this many paragraphs.', TEXT_DOMAIN); ?></p></td>
      </tr>
      <tr>
        <th scope="row"><label for="membership-access-fundraiser"><?php esc_html_e('Default fundraiser', TEXT_DOMAIN); ?></label></th>
        <td><input type="text" class="regular-text code" id="membership-access-fundraiser" name="<?php echo esc_attr($name); ?>[default_fundraiser]" value="<?php echo esc_attr((string) $values['default_fundraiser']); ?>" placeholder="independent-together" aria-describedby="membership-access-fundraiser-help">
          <p class="description" id="membership-access-fundraiser-help"><?php esc_html_e('The slug the [membership_fundraiser] shortcode and the Fundraiser block show when they name none.', TEXT_DOMAIN); ?></p></td>
      </tr>
    </table>
    <?php submit_button(); ?>
  </form>
  <h2><?php esc_html_e('Connection', TEXT_DOMAIN); ?></h2>
  <?php self::render_status(); ?>
</div>
        <?php
    }

    /** What the backend answers right now: its keys and whether it takes the API key. */
    private static function render_status(): void
    {
        if (self::backend_url() === '') {
            echo '<p>' . esc_html__('Set the backend address to connect.', TEXT_DOMAIN) . '</p>';
            return;
        }
        $lines = [];
        $keys = Backend::get('/api/v1/keys');
        $kids = $keys !== null && $keys['status'] === 200 ? KeySet::parse($keys['body']) : [];
        if ($keys === null) {
            $lines[] = ['error', __('The backend does not answer at that address.', TEXT_DOMAIN)];
        } elseif ($kids === []) {
            /* translators: %d: HTTP status code */
            $lines[] = ['error', sprintf(__('The backend answered %d but no Ed25519 signing keys.', TEXT_DOMAIN), $keys['status'])];
        } else {
            /* translators: %s: comma-separated key ids */
            $lines[] = ['success', sprintf(__('Signing keys: %s.', TEXT_DOMAIN), implode(', ', array_keys($kids)))];
        }
        if ($keys !== null && self::api_key() !== '') {
            $check = Backend::get('/api/v1/access', ['article' => 'wordpress-connection-check', 'peek' => '1'], true);
            if ($check !== null && $check['status'] === 200) {
                $lines[] = ['success', __('The API key is accepted.', TEXT_DOMAIN)];
            } elseif ($check !== null && $check['status'] === 401) {
                $lines[] = ['error', __('The backend refuses the API key (unknown or revoked).', TEXT_DOMAIN)];
            } else {
                $lines[] = ['error', __('The access API did not answer.', TEXT_DOMAIN)];
            }
        } elseif (self::api_key() === '') {
            $lines[] = ['warning', __('No API key: rules are asked about without one.', TEXT_DOMAIN)];
        }
        $problem = Backend::last_problem();
        if ($problem !== null) {
            /* translators: 1: a problem, 2: how long ago */
            $lines[] = ['warning', sprintf(__('Last problem: %1$s (%2$s ago).', TEXT_DOMAIN), $problem['message'], human_time_diff($problem['at']))];
        }
        echo '<ul class="membership-access-status">';
        foreach ($lines as [$kind, $text]) {
            printf('<li class="notice notice-%s inline"><p>%s</p></li>', esc_attr($kind), esc_html($text));
        }
        echo '</ul>';
    }
}
